#!/usr/bin/env python3
"""Torch autograd reference for the converter's gradient graphs (issue 9).

    python3 models/training/grad_reference.py --checkpoint RUN/final/step_N \
        --config RUN/final/all_config.yaml [--tasks src/arc/demo/demo-tasks.json] \
        [--task demo-recolor-1] [--out models/demo-parity/grad]

For one task's demonstrations (batch = all of them) it builds exactly the inputs of
fit_grad.onnx / fit_full.onnx: the task's tokens and labels, the puzzle row new tasks
start from when fitted (the mean of the checkpoint's trained rows, as upstream starts
new rows), and z_H/z_L after the first H_cycles - 1 cycles of the first ACT step from
H_init/L_init (run without gradient, as upstream). Then it runs the last H-cycle with
autograd and the fitting loss of src/convert/graphs.ts emitFitLoss: per sequence the
mean stablemax cross-entropy over non-PAD labels (EOS counts) + 0.5 * BCE(q_halt,
exact), summed over the batch. It writes float32 little-endian .bin files and
expected.json: loss, d loss / d row per demonstration, and d loss / d every weight in
the ONNX initializer layout (linear weights transposed to [in, out], as graphs.ts
stores them). The reference is float32 throughout, like the graphs; the float64
stablemax that train.py uses is also evaluated and its difference recorded.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import TRM, TRMConfig  # noqa: E402
from train import to_canvas  # noqa: E402

PAD = 0


def read_config(path):
    """The flat `key: value` lines of all_config.yaml (the arch block's keys and the top-level ones)."""
    values = {}
    with open(path) as f:
        for line in f:
            if ':' not in line or line.lstrip().startswith('-'):
                continue
            k, v = line.strip().split(':', 1)
            v = v.strip()
            if v:
                values.setdefault(k, v)
    need = ['hidden_size', 'num_heads', 'expansion', 'L_layers', 'H_cycles', 'L_cycles', 'halt_max_steps',
            'puzzle_emb_len', 'num_puzzle_identifiers', 'grid_size']
    missing = [k for k in need if k not in values]
    if missing:
        raise SystemExit(f'{path}: missing {", ".join(missing)} (write it with train.py)')
    return TRMConfig(hidden_size=int(values['hidden_size']), num_heads=int(values['num_heads']),
                     expansion=float(values['expansion']), L_layers=int(values['L_layers']),
                     H_cycles=int(values['H_cycles']), L_cycles=int(values['L_cycles']),
                     halt_max_steps=int(values['halt_max_steps']),
                     halt_exploration_prob=float(values.get('halt_exploration_prob', 0)),
                     puzzle_emb_len=int(values['puzzle_emb_len']),
                     num_puzzle_identifiers=int(values['num_puzzle_identifiers']),
                     grid_size=int(values['grid_size']), vocab_size=int(values.get('vocab_size', 12)),
                     pos_encodings=values.get('pos_encodings', 'rope'))


def onnx_weights(inner):
    """{ONNX initializer name: (torch parameter, transpose?)} as graphs.ts names and lays them out."""
    out = {'embed_tokens': (inner.embed_tokens.embedding_weight, False),
           'lm_head': (inner.lm_head.weight, True),
           'q_head': (inner.q_head.weight, True),
           'q_head_bias': (inner.q_head.bias, False)}
    if hasattr(inner, 'embed_pos'):  # learned positions; graphs.ts lists it right after embed_tokens
        out['embed_pos'] = (inner.embed_pos.embedding_weight, False)
    for i, layer in enumerate(inner.L_level.layers):
        out[f'L{i}_qkv'] = (layer.self_attn.qkv_proj.weight, True)
        out[f'L{i}_o'] = (layer.self_attn.o_proj.weight, True)
        out[f'L{i}_gate_up'] = (layer.mlp.gate_up_proj.weight, True)
        out[f'L{i}_down'] = (layer.mlp.down_proj.weight, True)
    return out


def stablemax_logp(logits):
    """log stablemax as emitFitLoss writes it: s = relu(x) + 1 / (1 + relu(-x))."""
    s = torch.relu(logits) + 1 / (1 + torch.relu(-logits))
    return torch.log(s) - torch.log(s.sum(-1, keepdim=True))


def fit_loss(logits, q_halt, labels, dtype):
    """emitFitLoss: sum over the batch of mean CE over non-PAD labels + 0.5 * BCE(q_halt, exact)."""
    mask = labels != PAD
    logp = stablemax_logp(logits.to(dtype))
    nll = -torch.gather(logp, -1, labels.long().unsqueeze(-1)).squeeze(-1)
    lm = (nll * mask).sum(-1) / mask.sum(-1).clamp_min(1)
    with torch.no_grad():
        exact = ((logits.argmax(-1) == labels) | ~mask).all(-1)
    bce = F.binary_cross_entropy_with_logits(q_halt.to(dtype), exact.to(dtype), reduction='none')
    per_seq = lm + 0.5 * bce
    return per_seq.sum(), per_seq, exact


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--checkpoint', required=True, help='upstream-format checkpoint (step_N) written by train.py')
    p.add_argument('--config', required=True, help='its all_config.yaml')
    p.add_argument('--tasks', default='src/arc/demo/demo-tasks.json', help='Kaggle-style challenges file with the task')
    p.add_argument('--task', help='task id (default: the first task of --tasks)')
    p.add_argument('--out', default='models/demo-parity/grad')
    args = p.parse_args(argv)

    torch.set_num_threads(1)
    cfg = read_config(args.config)
    model = TRM(cfg)
    state = torch.load(args.checkpoint, map_location='cpu')
    prefix = 'model.'
    model.load_state_dict({k[len(prefix):]: v for k, v in state.items()}, strict=True)
    model.eval()
    inner = model.inner

    with open(args.tasks) as f:
        tasks = json.load(f)
    task_id = args.task or next(iter(tasks))
    if task_id not in tasks:
        raise SystemExit(f'{args.tasks}: no task "{task_id}"')
    pairs = tasks[task_id]['train']
    size = cfg.grid_size
    for i, pr in enumerate(pairs):
        for field in ('input', 'output'):
            h, w = np.asarray(pr[field]).shape
            if h > size or w > size:
                raise SystemExit(f'{task_id}: train[{i}].{field} is {h}x{w}, larger than the {size}x{size} canvas')
    tokens = torch.from_numpy(np.stack([to_canvas(pr['input'], size) for pr in pairs])).int()
    labels = torch.from_numpy(np.stack([to_canvas(pr['output'], size) for pr in pairs])).int()
    B, W = len(pairs), cfg.hidden_size
    # New tasks start from the mean of the trained rows (row 0 is the untrained blank row).
    row = inner.puzzle_emb.weights[1:].mean(0).float()

    cos, sin = inner.rope_tables()
    P = cfg.puzzle_emb_len

    def embed(puzzle):
        return inner.embed_rows(tokens, puzzle)

    with torch.no_grad():
        z_H, z_L = inner.initial_carry(B)
        x = embed(row.expand(B, W))
        for _ in range(cfg.H_cycles - 1):
            for _ in range(cfg.L_cycles):
                z_L = inner.L_level(z_L, z_H + x, cos, sin)
            z_H = inner.L_level(z_H, z_L, cos, sin)
    z_H_in, z_L_in = z_H.clone(), z_L.clone()

    def last_cycle(puzzle):
        x = embed(puzzle)
        zL = z_L_in
        for _ in range(cfg.L_cycles):
            zL = inner.L_level(zL, z_H_in + x, cos, sin)
        zH = inner.L_level(z_H_in, zL, cos, sin)
        logits = inner.lm_head(zH)[:, P:]
        q = inner.q_head(zH[:, 0])
        return logits, q[..., 0], zH, zL

    weights = onnx_weights(inner)
    results = {}
    for name, dtype in (('float32', torch.float32), ('float64', torch.float64)):
        model.zero_grad(set_to_none=True)
        puzzle = row.expand(B, W).clone().requires_grad_(True)
        logits, q_halt, zH, zL = last_cycle(puzzle)
        loss, per_seq, exact = fit_loss(logits, q_halt, labels, dtype)
        loss.backward()
        results[name] = dict(loss=float(loss), per_seq=per_seq.detach().double().numpy(), exact=exact.numpy(),
                             d_puzzle=puzzle.grad.detach().float().numpy(),
                             d_weights={k: (t.grad.T if tr else t.grad).detach().float().contiguous().numpy()
                                        for k, (t, tr) in weights.items()},
                             logits=logits.detach().numpy(), q_halt=q_halt.detach().numpy())

    ref = results['float32']
    os.makedirs(args.out, exist_ok=True)

    def dump(fname, a, dtype):
        np.ascontiguousarray(a).astype(dtype).tofile(os.path.join(args.out, fname))

    dump('tokens.bin', tokens.numpy(), '<i4')
    dump('labels.bin', labels.numpy(), '<i4')
    dump('puzzle.bin', row.expand(B, W).numpy(), '<f4')
    dump('z_H.bin', z_H_in.numpy(), '<f4')
    dump('z_L.bin', z_L_in.numpy(), '<f4')
    # The carry at the start of the step, for fit_full.onnx (which runs the no-gradient cycles itself).
    dump('H_init.bin', inner.H_init.numpy(), '<f4')
    dump('L_init.bin', inner.L_init.numpy(), '<f4')
    dump('d_puzzle.bin', ref['d_puzzle'], '<f4')
    offsets, flat, pos = {}, [], 0
    for k, g in ref['d_weights'].items():
        offsets[k] = dict(offset=pos, shape=list(g.shape))
        flat.append(g.reshape(-1))
        pos += g.size
    dump('d_weights.bin', np.concatenate(flat), '<f4')

    def max_rel(a, b):
        return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))

    f64 = results['float64']
    expected = dict(
        source='models/training/grad_reference.py: torch autograd, last H-cycle of the first ACT step, float32',
        checkpoint=args.checkpoint, config=args.config, task=task_id, batch=B, seq_len=cfg.seq_len,
        puzzle_emb_ndim=W, hidden_size=W, seq_total=P + cfg.seq_len, H_cycles=cfg.H_cycles, L_cycles=cfg.L_cycles,
        row='mean of the checkpoint puzzle table rows 1.. (row 0 = untrained blank)',
        loss=ref['loss'], loss_per_seq=ref['per_seq'].tolist(), correct=ref['exact'].astype(int).tolist(),
        q_halt=ref['q_halt'].tolist(),
        logits_argmax=ref['logits'].argmax(-1).tolist(),
        float64_stablemax=dict(
            note='train.py evaluates stablemax in float64; the graphs in float32. Effect of that choice on this task:',
            loss=f64['loss'], loss_rel_diff=abs(f64['loss'] - ref['loss']) / abs(f64['loss']),
            d_puzzle_max_rel_diff=max_rel(ref['d_puzzle'], f64['d_puzzle']),
            d_weights_max_rel_diff=max(max_rel(ref['d_weights'][k], f64['d_weights'][k]) for k in offsets)),
        weights=offsets,
        files={'tokens.bin': f'int32 [{B},{cfg.seq_len}] inputs', 'labels.bin': f'int32 [{B},{cfg.seq_len}] outputs (0 = PAD)',
               'puzzle.bin': f'float32 [{B},{W}] the row, once per demonstration',
               'z_H.bin': f'float32 [{B},{P + cfg.seq_len},{W}] carry entering the last H-cycle',
               'z_L.bin': f'float32 [{B},{P + cfg.seq_len},{W}]',
               'H_init.bin': f'float32 [{W}] carry at the start of the step (every position), for fit_full.onnx',
               'L_init.bin': f'float32 [{W}]',
               'd_puzzle.bin': f'float32 [{B},{W}] d loss / d puzzle (per demonstration)',
               'd_weights.bin': 'float32, d loss / d each weight in ONNX layout, at weights[name].offset (elements)'},
    )
    with open(os.path.join(args.out, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    print(f'{task_id}: batch {B}, loss {ref["loss"]:.6f} (float64 stablemax {f64["loss"]:.6f}), '
          f'|d_puzzle| max {np.abs(ref["d_puzzle"]).max():.3e}, {pos} weight gradients -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
