#!/bin/sh
# Reproduce the demo model from scratch: task suite → training → upstream-format checkpoint → models/demo/.
# Resumable: run it again after an interruption and training continues where it stopped.
set -eu
cd "$(dirname "$0")/../.."
RUN=${RUN:-models/training/runs/demo}
DATA=models/training/runs/data/tasks.json
STEPS=5000

node bin/trm.js gen --training "$DATA" --per-family 80
python3 models/training/train.py --data "$DATA" --run "$RUN" --out "$RUN/final" \
  --parity-out models/demo-parity --steps "$STEPS" --threads "${THREADS:-2}"
node bin/trm.js convert "$RUN/final/step_$STEPS" --config "$RUN/final/all_config.yaml" \
  --identifiers "$RUN/final/identifiers.json" --grid-size 10 --tasks src/arc/demo/demo-tasks.json \
  --precision fp32,q8 --name trm-studio-demo --out models/demo --force
