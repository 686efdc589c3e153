#!/bin/sh
# Reproduce the demo model from scratch: task suite → training → upstream-format checkpoint → models/demo/.
# Resumable: run it again after an interruption and training continues where it stopped.
set -eu
cd "$(dirname "$0")/../.."
RUN=${RUN:-models/training/runs/d8f25L}
DATA=models/training/runs/data8s/tasks.json
STEPS=21000
GRID=8
# Debian's torch (a pyenv or venv python3 earlier on PATH usually lacks it). Two data-parallel workers
# with one BLAS thread each: one process gains nothing from a second thread on these small matrices,
# while a second worker on the other core doubles the examples per second.
PYTHON=${PYTHON:-python3}
$PYTHON -c 'import torch' 2>/dev/null || PYTHON=/usr/bin/python3
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

# One input size per task (the generators' default) on an 8×8 canvas.
node bin/trm.js gen --training "$DATA" --per-family 120 --grid-size "$GRID"
$PYTHON models/training/train.py --data "$DATA" --run "$RUN" --out "$RUN/final" \
  --parity-out models/demo-parity --steps "$STEPS" --threads 1 --workers 2 \
  --batch 64 --lr 3e-3 --halt-max-steps 4 --H-cycles 3 --pos-encodings rope --eval-every 4000 \
  --demo-fraction 0.25
node bin/trm.js convert "$RUN/final/step_$STEPS" --config "$RUN/final/all_config.yaml" \
  --identifiers "$RUN/final/identifiers.json" --grid-size "$GRID" --tasks src/arc/demo/demo-tasks.json \
  --precision fp32,fp16,q8 --grad --name trm-studio-demo --out models/demo --force
# Torch autograd reference for the gradient graphs (src/fit/demo-grad.golden.test.ts).
$PYTHON models/training/grad_reference.py --checkpoint "$RUN/final/step_$STEPS" \
  --config "$RUN/final/all_config.yaml" --out models/demo-parity/grad
# Effect of test-time fitting: held-out tasks never trained on, blank row vs fitted row.
node bin/trm.js gen --held-out models/training/runs/heldout/heldout.json --per-family 5 --exclude "$DATA" --grid-size "$GRID"
node bin/trm.js fit-bench --model models/demo --tasks models/training/runs/heldout/heldout.json --families learned --per-family 5 --variants 2
