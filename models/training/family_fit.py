#!/usr/bin/env python3
"""How well a run fits its own training examples, per family: underfitting or failing to generalize?

    python3 models/training/family_fit.py --run models/training/runs/d8s [train.py's model flags]

Loads <run>/state.pt (the EMA weights, as exported), runs 3000 random training examples (a fixed
sample) for halt_max_steps ACT steps and prints exact-match and cell accuracy per family, separately
for generated tasks and for the demo tasks' demonstrations. Takes the same flags as train.py.
"""
import os
import sys
from collections import defaultdict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T  # noqa: E402
from model import IGNORE_LABEL, TRM  # noqa: E402


def main(argv=None):
    args = T.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = T.Dataset(args.data, args.demo_variants, args.gen_variants, args.seed)
    cfg = T.model_config(args, ds)
    model = TRM(cfg)
    state = torch.load(os.path.join(args.run, 'state.pt'))
    model.load_state_dict(state['model'])
    ema = T.Ema(model, args.ema)
    ema.shadow = state['ema']
    inner = ema.copy_of(model).inner
    # Row names are '<task id>' or '<task id>|||t<tid>|||<perm>'; task ids are gen-<family>-<n> or demo-<family>-<n>.
    families = sorted(ds.families, key=len, reverse=True)

    def source_family(pid):
        task = ds.identifiers[pid].split(T.SEPARATOR)[0]
        src = 'demo' if task.startswith('demo-') else 'gen'
        rest = task[len(src) + 1:]
        return src, next((f for f in families if rest.startswith(f + '-')), '?')

    stats = defaultdict(lambda: [0, 0, 0.0])  # (family, source) -> [examples, exact, cell accuracy sum]
    sample = np.random.RandomState(0).permutation(len(ds.inputs))[:3000]
    with torch.no_grad():
        for start in range(0, len(sample), 200):
            b = sample[start:start + 200]
            labels, pids = ds.labels[b], ds.pids[b]
            pred = T.run_act(inner, ds.inputs[b], pids, cfg.halt_max_steps)[-1][0].argmax(-1)
            mask = labels != IGNORE_LABEL
            exact = ((pred == labels) | ~mask).all(-1)
            cell = ((pred == labels) & mask).sum(-1).float() / mask.sum(-1).float()
            for j in range(len(b)):
                s = stats[source_family(int(pids[j]))[::-1]]
                s[0] += 1
                s[1] += int(exact[j])
                s[2] += float(cell[j])
    print(f'{args.run} at step {state["step"]}: {len(sample)} training examples, {cfg.halt_max_steps} ACT steps')
    print('family          generated: exact  cell | demo demonstrations: exact  cell')
    for f in ds.families:
        g, d = stats[(f, 'gen')], stats[(f, 'demo')]
        print(f'{f:15s} {g[1] / max(1, g[0]):17.2f} {g[2] / max(1, g[0]):5.3f} | {d[1] / max(1, d[0]):27.2f} {d[2] / max(1, d[0]):5.3f}'
              f'   (n = {g[0]} / {d[0]})')


if __name__ == '__main__':
    main()
