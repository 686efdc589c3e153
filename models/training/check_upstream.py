#!/usr/bin/env python3
"""Check model.py against the golden upstream fixture (../shared/fixtures/trm-upstream-h64):
load its step_0 (prefix `_orig_mod.model.inner.`) strictly and compare the first ACT step's
logits, argmax and q_halt with what the upstream code produced. Exits 0 when they agree."""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import TRM, TRMConfig  # noqa: E402

FIXTURE = os.path.normpath(os.path.join(HERE, '../../../shared/fixtures/trm-upstream-h64'))
PREFIX = '_orig_mod.model.'


def main():
    if not os.path.isdir(FIXTURE):
        print(f'SKIP: golden fixture not found at {FIXTURE}')
        return 0
    torch.set_num_threads(2)
    exp = json.load(open(os.path.join(FIXTURE, 'expected.json')))
    c = exp['config']
    cfg = TRMConfig(hidden_size=c['hidden_size'], num_heads=c['num_heads'], expansion=c['expansion'],
                    L_layers=c['L_layers'], H_cycles=c['H_cycles'], L_cycles=c['L_cycles'],
                    halt_max_steps=c['halt_max_steps'], halt_exploration_prob=0.1,
                    puzzle_emb_len=c['puzzle_emb_len'], num_puzzle_identifiers=c['num_puzzle_identifiers'],
                    grid_size=int(round(exp['seq_len'] ** 0.5)))
    model = TRM(cfg).eval()
    state = torch.load(os.path.join(FIXTURE, 'step_0'))
    model.load_state_dict({k[len(PREFIX):]: v.float() for k, v in state.items()}, strict=True)
    B, S, V = exp['batch'], exp['seq_len'], exp['vocab']
    tokens = torch.from_numpy(np.fromfile(os.path.join(FIXTURE, 'inputs.bin'), dtype='<i4').reshape(B, S))
    ids = torch.from_numpy(np.fromfile(os.path.join(FIXTURE, 'puzzle_ids.bin'), dtype='<i4').astype(np.int64))
    first = np.fromfile(os.path.join(FIXTURE, 'logits_first.bin'), dtype='<f4').reshape(B, S, V)
    with torch.no_grad():
        _, logits, q_halt, _ = model.inner(model.inner.initial_carry(B), tokens, ids)
    d_logit = float(np.abs(logits.numpy() - first).max())
    argmax = float((logits.argmax(-1).numpy() == np.array(exp['steps'][0]['argmax'])).mean())
    d_q = float(np.abs(q_halt.numpy() - np.array(exp['steps'][0]['q_halt'])).max())
    print(f'ACT step 1 vs upstream: max |Δlogit| {d_logit:.2e}, argmax agreement {argmax:.4f}, max |Δq_halt| {d_q:.2e}')
    return 0 if d_logit < 1e-4 and argmax == 1.0 and d_q < 1e-4 else 1


if __name__ == '__main__':
    sys.exit(main())
