#!/usr/bin/env python3
"""Train the TRM Studio demo model on the project's own task suite (CPU, torch 1.13).

    python3 models/training/train.py --data models/training/runs/data/tasks.json \
        --run models/training/runs/demo --out models/training/runs/demo/final

Resumes automatically from <run>/state.pt. Writes to --out an upstream-format
checkpoint (`step_<N>`: torch.save of the flat state dict, keys `model.inner.*`),
all_config.yaml, identifiers.json and eval.json; with --parity-out also the
parity fixture (a few inputs run through the trained torch model).
See README.md for the whole pipeline.
"""
import argparse
import copy
import functools
import json
import math
import os
import signal
import socket
import sys
import time
from collections import OrderedDict, defaultdict

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import IGNORE_LABEL, TRM, TRMConfig, stablemax_cross_entropy  # noqa: E402

PAD, EOS, COLOUR_OFFSET = 0, 1, 2
SEPARATOR = '|||'


# ----------------------------------------------------------------------------- data

def dihedral(a, tid):
    """Upstream dataset/common.py dihedral_transform (numpy semantics)."""
    return [lambda x: x, lambda x: np.rot90(x, 1), lambda x: np.rot90(x, 2), lambda x: np.rot90(x, 3),
            np.fliplr, np.flipud, lambda x: x.T, lambda x: np.fliplr(np.rot90(x, 1))][tid](a)


DIHEDRAL_INVERSE = [0, 3, 2, 1, 4, 5, 6, 7]


def augment(grid, tid, perm):
    """Colours first, then geometry (build_arc_dataset.py)."""
    return np.ascontiguousarray(dihedral(perm[np.asarray(grid, dtype=np.uint8)], tid))


def inverse_augment(grid, tid, perm):
    return np.argsort(perm)[dihedral(grid, DIHEDRAL_INVERSE[tid])]


def to_canvas(grid, size):
    """Grid at (0,0) as colour+2, EOS row below and column right, corner PAD."""
    g = np.asarray(grid)
    h, w = g.shape
    out = np.zeros((size, size), dtype=np.int64)
    out[:h, :w] = g + COLOUR_OFFSET
    if h < size:
        out[h, :w] = EOS
    if w < size:
        out[:h, w] = EOS
    return out.reshape(-1)


def crop(tokens, size):
    """evaluators/arc.py _crop: largest colour-only rectangle anchored at (0,0)."""
    grid = np.asarray(tokens).reshape(size, size)
    best_r, best_w, w = 0, 0, size
    for r in range(1, size + 1):
        row = grid[r - 1, :w]
        bad = np.nonzero((row < 2) | (row > 11))[0]
        if len(bad):
            w = int(bad[0])
        if r * w > best_r * best_w:
            best_r, best_w = r, w
    return grid[:best_r, :best_w] - COLOUR_OFFSET


def variant_name(task_id, tid, perm):
    if tid == 0 and list(perm) == list(range(10)):
        return task_id
    return f"{task_id}{SEPARATOR}t{tid}{SEPARATOR}{''.join(str(int(c)) for c in perm)}"


def content_key(pairs, tid, perm):
    return tuple(sorted(augment(i, tid, perm).tobytes() + augment(o, tid, perm).tobytes() +
                        bytes(augment(i, tid, perm).shape) for i, o in pairs))


def draw_variants(task, count, rng, include_identity):
    """Up to `count` distinct augmentations (tid, perm), identity first when asked, as upstream."""
    pairs = [(p['input'], p['output']) for p in task['train']]
    chosen, seen = [], set()
    if include_identity:
        chosen.append((0, np.arange(10)))
        seen.add(content_key(pairs, 0, np.arange(10)))
    for _ in range(5 * count):
        if len(chosen) >= count:
            break
        tid = int(rng.randint(0, 8))
        perm = np.concatenate([[0], rng.permutation(np.arange(1, 10))])
        key = content_key(pairs, tid, perm)
        if key not in seen:
            seen.add(key)
            chosen.append((tid, perm))
    return chosen


class Dataset:
    """Every (variant, demonstration) as a token row, plus the demo tasks' held-out tests."""

    def __init__(self, path, demo_variants, gen_variants, seed):
        with open(path) as f:
            data = json.load(f)
        if data.get('format') != 'trm-studio-training-tasks/1':
            raise SystemExit(f"{path}: format is {data.get('format')!r}, expected 'trm-studio-training-tasks/1' (write it with `trm gen`)")
        self.grid_size = int(data['grid_size'])
        rng = np.random.RandomState(seed)
        self.identifiers = ['<blank>']
        inputs, labels, pids, demo_flags = [], [], [], []
        self.tests = []  # demo held-out tests: one entry per (task, test index, variant)
        tasks = sorted(data['tasks'], key=lambda t: (not t['demo'],))  # demo rows get the low ids
        for task in tasks:
            demo = task['demo']
            variants = draw_variants(task, demo_variants if demo else gen_variants, rng, include_identity=demo)
            # Demo tasks: demonstrations only (tests are held out). Generated tasks: every pair.
            pairs = task['train'] if demo else task['train'] + task['test']
            for tid, perm in variants:
                pid = len(self.identifiers)
                self.identifiers.append(variant_name(task['id'], tid, perm))
                for p in pairs:
                    inputs.append(to_canvas(augment(p['input'], tid, perm), self.grid_size))
                    lab = to_canvas(augment(p['output'], tid, perm), self.grid_size)
                    labels.append(np.where(lab == PAD, IGNORE_LABEL, lab))
                    pids.append(pid)
                    demo_flags.append(demo)
                if demo:
                    for k, t in enumerate(task['test']):
                        self.tests.append(dict(task=task['id'], family=task['family'], index=k, pid=pid, tid=tid,
                                               perm=perm, tokens=to_canvas(augment(t['input'], tid, perm), self.grid_size),
                                               answer=np.asarray(t['output'])))
        self.inputs = torch.from_numpy(np.stack(inputs)).int()
        self.labels = torch.from_numpy(np.stack(labels)).long()
        self.pids = torch.tensor(pids, dtype=torch.int64)
        flags = np.asarray(demo_flags)
        self.demo_idx, self.gen_idx = np.nonzero(flags)[0], np.nonzero(~flags)[0]
        self.families = data['families']
        self.num_demo_tasks = sum(t['demo'] for t in data['tasks'])


# ----------------------------------------------------------------------------- training

class Ema:
    """EMA of the trained parameters (upstream ema.py); buffers are saved live."""

    def __init__(self, model, rate):
        self.rate = rate
        self.shadow = {k: p.detach().clone() for k, p in model.named_parameters()}

    @torch.no_grad()
    def update(self, model, step):
        rate = min(self.rate, (1 + step) / (10 + step))
        for k, p in model.named_parameters():
            self.shadow[k].mul_(rate).add_(p.detach(), alpha=1 - rate)

    def copy_of(self, model):
        ema_model = copy.deepcopy(model)
        with torch.no_grad():
            for k, p in ema_model.named_parameters():
                p.copy_(self.shadow[k])
        return ema_model.eval()


@functools.lru_cache(maxsize=None)  # lr_at asks every step; the text never changes within a run
def parse_schedule(text, steps):
    """`--schedule TOTAL@STEP,…` → [(STEP, TOTAL)], sorted; the last TOTAL must be --steps."""
    points = []
    for item in filter(None, (x.strip() for x in text.split(','))):
        total, _, at = item.partition('@')
        if not (total.isdigit() and at.isdigit()):
            raise SystemExit(f'--schedule: "{item}" is not TOTAL@STEP (e.g. 11000@0,13500@3198)')
        points.append((int(at), int(total)))
    points.sort()
    if points and points[-1][1] != steps:
        raise SystemExit(f'--schedule ends at {points[-1][1]} steps but --steps is {steps}')
    return tuple(points)


def total_steps_at(step, args):
    """The schedule's length in force at `step`: --steps, or what --schedule says it was then."""
    total = args.steps
    for at, n in parse_schedule(args.schedule, args.steps):
        if at <= step:
            total = n
    return total


def lr_at(step, args):
    if step < args.warmup:
        return (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, total_steps_at(step, args) - args.warmup))
    return args.lr_min_ratio + (1 - args.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Carry:
    """The ACT carry of one training batch (trm.py ACT wrapper): latent state plus the example each row works on."""

    def __init__(self, model, batch, seq_len):
        self.z = model.initial_carry(batch)
        self.steps = torch.zeros(batch, dtype=torch.int64)
        self.halted = torch.ones(batch, dtype=torch.bool)
        self.example = torch.zeros(batch, dtype=torch.int64)

    def state(self):
        return dict(z=self.z, steps=self.steps, halted=self.halted, example=self.example)

    def load(self, s):
        self.z, self.steps, self.halted, self.example = s['z'], s['steps'], s['halted'], s['example']


def sample_examples(ds, count, rng, demo_fraction):
    from_demo = rng.random_sample(count) < demo_fraction
    demo = ds.demo_idx[rng.randint(0, len(ds.demo_idx), count)]
    gen = ds.gen_idx[rng.randint(0, len(ds.gen_idx), count)] if len(ds.gen_idx) else demo
    return torch.from_numpy(np.where(from_demo, demo, gen))


def average_gradients(model, workers):
    """Data parallelism: every worker steps with the mean gradient of the whole batch (one all-reduce)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= workers
    offset = 0
    for g in grads:
        g.copy_(flat[offset: offset + g.numel()].view_as(g))
        offset += g.numel()


def train_step(model, carry, ds, rng, args, optimizer, step):
    inner = model.inner
    cfg = inner.cfg
    B = args.batch // args.workers  # this worker's share of the batch
    # Halted rows start a fresh example from the initial state.
    fresh = carry.halted
    carry.example = torch.where(fresh, sample_examples(ds, B, rng, args.demo_fraction), carry.example)
    init_H, init_L = inner.initial_carry(B)
    z_H = torch.where(fresh.view(-1, 1, 1), init_H, carry.z[0])
    z_L = torch.where(fresh.view(-1, 1, 1), init_L, carry.z[1])
    carry.steps = torch.where(fresh, torch.zeros_like(carry.steps), carry.steps)
    tokens, labels, pids = ds.inputs[carry.example], ds.labels[carry.example], ds.pids[carry.example]

    (z_H, z_L), logits, q_halt, _q_continue = inner((z_H, z_L), tokens, pids)
    carry.z = (z_H, z_L)
    carry.steps = carry.steps + 1

    with torch.no_grad():
        halted = carry.steps >= cfg.halt_max_steps
        halted |= q_halt > 0
        explore = (torch.rand(B) < cfg.halt_exploration_prob) * torch.randint(2, cfg.halt_max_steps + 1, (B,))
        halted &= carry.steps >= explore
        carry.halted = halted

    # ACTLossHead: per-sequence mean of stablemax CE, summed; q_halt BCE on exact match.
    mask = labels != IGNORE_LABEL
    counts = mask.sum(-1)
    correct = mask & (logits.argmax(-1) == labels)
    exact = correct.sum(-1) == counts
    if args.loss == 'softmax_cross_entropy':
        per_token = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE_LABEL,
                                    reduction='none').view(labels.shape)
    else:
        per_token = stablemax_cross_entropy(logits, labels)
    lm_loss = (per_token / counts.clamp_min(1).unsqueeze(-1)).sum()
    q_loss = F.binary_cross_entropy_with_logits(q_halt, exact.float(), reduction='sum')
    loss = (lm_loss + 0.5 * q_loss) / B

    scale = lr_at(step, args)
    for group in optimizer.param_groups:
        group['lr'] = args.lr * scale
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if args.workers > 1:
        average_gradients(model, args.workers)
    optimizer.step()
    inner.puzzle_emb.sign_sgd_step(args.puzzle_lr * scale, args.puzzle_weight_decay, distributed=args.workers > 1)

    done = carry.halted
    return dict(loss=float(loss), lm=float(lm_loss) / B, q=float(q_loss) / B,
                cell=float(correct.sum()) / max(1, int(counts.sum())),
                exact_halted=float(exact[done].float().sum()), halted=int(done.sum()),
                halt_steps=float(carry.steps[done].float().sum()))


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def run_act(inner, tokens, pids, steps):
    """Inference as upstream evaluates: exactly `steps` ACT steps from the initial carry."""
    carry = inner.initial_carry(len(tokens))
    outs = []
    for _ in range(steps):
        carry, logits, q_halt, q_continue = inner(carry, tokens, pids)
        outs.append((logits, q_halt, q_continue))
    return outs


@torch.no_grad()
def evaluate(model, ds, batch=64):
    """pass@1/pass@2 on the demo tasks' held-out tests, voting over variants like evaluators/arc.py,
    plus the exact-match rate of single variants after every ACT step."""
    inner = model.inner
    cfg, size = inner.cfg, ds.grid_size
    tests = ds.tests
    per_step_exact = np.zeros(cfg.halt_max_steps)
    votes = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))  # (task, index) -> grid bytes -> [count, sum q]
    for start in range(0, len(tests), batch):
        chunk = tests[start:start + batch]
        tokens = torch.from_numpy(np.stack([t['tokens'] for t in chunk])).int()
        pids = torch.tensor([t['pid'] for t in chunk])
        outs = run_act(inner, tokens, pids, cfg.halt_max_steps)
        for s, (logits, q_halt, _) in enumerate(outs):
            preds = logits.argmax(-1).numpy()
            for i, t in enumerate(chunk):
                answer_tokens = to_canvas(augment(t['answer'], t['tid'], t['perm']), size)
                cells = answer_tokens != PAD
                per_step_exact[s] += bool(np.all(preds[i][cells] == answer_tokens[cells]))
            if s == len(outs) - 1:
                q = torch.sigmoid(q_halt.double()).numpy()
                for i, t in enumerate(chunk):
                    pred = crop(preds[i], size)
                    if pred.size == 0:
                        continue
                    grid = inverse_augment(pred, t['tid'], t['perm'])
                    key = (grid.shape, grid.astype(np.uint8).tobytes())
                    v = votes[(t['task'], t['index'])][key]
                    v[0] += 1
                    v[1] += float(q[i])
    answers = {(t['task'], t['index']): t['answer'] for t in tests}
    per_task = defaultdict(list)
    for (task, index), answer in answers.items():
        ranked = sorted(votes[(task, index)].items(), key=lambda kv: (kv[1][0], kv[1][1] / kv[1][0]), reverse=True)
        target = (answer.shape, answer.astype(np.uint8).tobytes())
        hits = [k == target for k, _ in ranked[:2]]
        per_task[task].append((bool(hits[:1] and hits[0]), any(hits)))
    pass1 = np.mean([np.mean([h[0] for h in v]) for v in per_task.values()])
    pass2 = np.mean([np.mean([h[1] for h in v]) for v in per_task.values()])
    solved = sorted(t for t, v in per_task.items() if all(h[1] for h in v))
    return dict(pass1=float(pass1), pass2=float(pass2), tasks=len(per_task), solved_pass2=solved,
                per_step_exact=(per_step_exact / len(tests)).round(4).tolist())


# ----------------------------------------------------------------------------- output

def upstream_state_dict(model):
    """Flat {model.inner.<name>: tensor}, in upstream's key order, no non-persistent buffers."""
    return OrderedDict((f'model.{k}', v.detach().clone().contiguous()) for k, v in model.state_dict().items())


def write_all_config(path, args, cfg, num_ids):
    """Upstream's all_config.yaml layout (arch block nested, training keys around it), plus the
    dataset facts upstream keeps in dataset.json (grid_size, seq_len, vocab_size) that a
    converter needs for a non-30×30 canvas."""
    lines = [
        'arch:',
        '  name: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1',
        '  loss:',
        '    name: losses@ACTLossHead',
        f'    loss_type: {args.loss}',
        f'  halt_exploration_prob: {cfg.halt_exploration_prob}',
        f'  halt_max_steps: {cfg.halt_max_steps}',
        f'  H_cycles: {cfg.H_cycles}',
        f'  L_cycles: {cfg.L_cycles}',
        '  H_layers: 0',
        f'  L_layers: {cfg.L_layers}',
        f'  hidden_size: {cfg.hidden_size}',
        f'  num_heads: {cfg.num_heads}',
        f'  expansion: {cfg.expansion:g}',
        f'  puzzle_emb_ndim: {cfg.hidden_size}',
        f'  pos_encodings: {cfg.pos_encodings}',
        '  forward_dtype: float32',
        '  mlp_t: false',
        f'  puzzle_emb_len: {cfg.puzzle_emb_len}',
        '  no_ACT_continue: true',
        'data_paths:',
        '- data/trm-studio-demo',
        f'grid_size: {cfg.grid_size}',
        f'seq_len: {cfg.seq_len}',
        f'vocab_size: {cfg.vocab_size}',
        f'num_puzzle_identifiers: {num_ids}',
        'ema: true',
        f'ema_rate: {args.ema}',
        f'global_batch_size: {args.batch}',
        f'lr: {args.lr}',
        f'lr_warmup_steps: {args.warmup}',
        f'lr_min_ratio: {args.lr_min_ratio}',
        f'puzzle_emb_lr: {args.puzzle_lr}',
        f'puzzle_emb_weight_decay: {args.puzzle_weight_decay}',
        f'weight_decay: {args.weight_decay}',
        'beta1: 0.9',
        'beta2: 0.95',
        f'seed: {args.seed}',
        f'total_steps: {args.steps}',
    ]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def write_parity(out_dir, model, ds, count=3):
    """Parity fixture: a few held-out demo test inputs run through the trained torch model
    exactly as the app runs them (float32, halt_max_steps steps from H_init/L_init)."""
    os.makedirs(out_dir, exist_ok=True)
    inner = model.inner
    cfg = inner.cfg
    # Different tasks (so different grid sizes and rules), each with a non-identity variant when there is one.
    picked, seen = [], set()
    for t in ds.tests:
        if t['task'] not in seen and (t['tid'] != 0 or len(picked) == 0):
            picked.append(t)
            seen.add(t['task'])
        if len(picked) == count:
            break
    tokens = torch.from_numpy(np.stack([t['tokens'] for t in picked])).int()
    pids = torch.tensor([t['pid'] for t in picked])
    rows = inner.puzzle_emb.weights[pids].float()
    outs = run_act(inner, tokens, pids, cfg.halt_max_steps)
    tokens.numpy().astype('<i4').tofile(os.path.join(out_dir, 'inputs.bin'))
    pids.numpy().astype('<i4').tofile(os.path.join(out_dir, 'puzzle_ids.bin'))
    rows.numpy().astype('<f4').tofile(os.path.join(out_dir, 'puzzle_rows.bin'))
    outs[0][0].numpy().astype('<f4').tofile(os.path.join(out_dir, 'logits_first.bin'))
    outs[-1][0].numpy().astype('<f4').tofile(os.path.join(out_dir, 'logits_last.bin'))
    expected = dict(
        source='models/training/train.py (trained demo model, float32, eval mode)',
        batch=len(picked), seq_len=cfg.seq_len, grid_size=cfg.grid_size, vocab=cfg.vocab_size,
        act_steps=cfg.halt_max_steps, hidden_size=cfg.hidden_size,
        variants=[ds.identifiers[t['pid']] for t in picked],
        files={'inputs.bin': f'int32 [{len(picked)},{cfg.seq_len}] tokens (test layout)',
               'puzzle_ids.bin': f'int32 [{len(picked)}] rows of the checkpoint puzzle table',
               'puzzle_rows.bin': f'float32 [{len(picked)},{cfg.hidden_size}] those rows',
               'logits_first.bin': f'float32 [{len(picked)},{cfg.seq_len},{cfg.vocab_size}] after ACT step 1',
               'logits_last.bin': f'float32 [{len(picked)},{cfg.seq_len},{cfg.vocab_size}] after the last ACT step'},
        steps=[dict(argmax=logits.argmax(-1).tolist(), q_halt=q_halt.tolist(), q_continue=q_cont.tolist())
               for logits, q_halt, q_cont in outs],
    )
    with open(os.path.join(out_dir, 'expected.json'), 'w') as f:
        json.dump(expected, f, separators=(',', ':'))
        f.write('\n')


# ----------------------------------------------------------------------------- main

# Settings that may change between a run and its resumption. All but `steps` and `schedule` leave
# what is learned unchanged; a new `steps` re-times the rest of the cosine schedule (to fit a run
# into the time left), and `schedule` replays such re-timings in a run from scratch.
RESUMABLE_CHANGES = ('out', 'parity_out', 'threads', 'log_every', 'eval_every', 'save_minutes', 'export_current', 'steps',
                     'schedule')


def run_identity(args):
    return {k: v for k, v in vars(args).items() if k not in RESUMABLE_CHANGES}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='tasks.json written by `trm gen`')
    p.add_argument('--run', required=True, help='run directory: log.txt and the resumable state.pt')
    p.add_argument('--out', help='where the final checkpoint goes (default <run>/final)')
    p.add_argument('--parity-out', help='also write the parity fixture here')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--steps', type=int, default=4000, help='optimizer steps (one ACT supervision step each)')
    p.add_argument('--schedule', default='',
                   help='TOTAL@STEP,…: from STEP on the cosine schedule runs to TOTAL steps, as if --steps had been '
                        'changed to TOTAL when resuming at STEP; replays a resumed run\'s re-timings from scratch')
    p.add_argument('--batch', type=int, default=32, help='examples per optimizer step, split over --workers')
    p.add_argument('--workers', type=int, default=1,
                   help='data-parallel processes (one per core); each runs --threads threads on batch/workers examples')
    p.add_argument('--hidden', type=int, default=64)
    p.add_argument('--heads', type=int, default=4)
    p.add_argument('--expansion', type=float, default=4)
    p.add_argument('--L-layers', type=int, default=2)
    p.add_argument('--H-cycles', type=int, default=2)
    p.add_argument('--L-cycles', type=int, default=2)
    p.add_argument('--halt-max-steps', type=int, default=8)
    p.add_argument('--halt-exploration', type=float, default=0.1)
    p.add_argument('--puzzle-emb-len', type=int, default=2)
    p.add_argument('--pos-encodings', choices=['rope', 'learned'], default='rope',
                   help="upstream's two position schemes: rotary (its ARC setting) or a learned absolute table")
    p.add_argument('--pos-init', choices=['random', 'grid'], default='random',
                   help="learned positions' start: upstream's random table or 2-D sine/cosine row/column features")
    p.add_argument('--demo-variants', type=int, default=8, help='augmented variants (puzzle rows) per demo task')
    p.add_argument('--gen-variants', type=int, default=1, help='random variants per generated task')
    p.add_argument('--demo-fraction', type=float, default=0.5, help='share of fresh examples drawn from demo tasks')
    p.add_argument('--loss', choices=['stablemax_cross_entropy', 'softmax_cross_entropy'], default='stablemax_cross_entropy',
                   help="upstream losses.py's two choices")
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--lr-min-ratio', type=float, default=0.1)
    p.add_argument('--warmup', type=int, default=200)
    p.add_argument('--weight-decay', type=float, default=0.1)
    p.add_argument('--puzzle-lr', type=float, default=2e-2)
    p.add_argument('--puzzle-weight-decay', type=float, default=0.1)
    p.add_argument('--ema', type=float, default=0.998)
    p.add_argument('--log-every', type=int, default=25)
    p.add_argument('--eval-every', type=int, default=1000)
    p.add_argument('--save-minutes', type=float, default=5)
    p.add_argument('--export-current', action='store_true',
                   help='do not train: write the outputs from the last saved state of --run (an interim model)')
    return p.parse_args(argv)


def model_config(args, ds):
    """The TRM the flags describe, sized for the dataset's puzzle rows and canvas."""
    return TRMConfig(hidden_size=args.hidden, num_heads=args.heads, expansion=args.expansion, L_layers=args.L_layers,
                     H_cycles=args.H_cycles, L_cycles=args.L_cycles, halt_max_steps=args.halt_max_steps,
                     halt_exploration_prob=args.halt_exploration, puzzle_emb_len=args.puzzle_emb_len,
                     num_puzzle_identifiers=len(ds.identifiers), grid_size=ds.grid_size,
                     pos_encodings=args.pos_encodings, pos_init=args.pos_init)


def main(argv=None):
    args = parse_args(argv)
    parse_schedule(args.schedule, args.steps)  # a bad --schedule fails before any work
    if args.batch % args.workers:
        raise SystemExit(f'--batch {args.batch} does not split evenly over --workers {args.workers}')
    if args.workers == 1 or args.export_current:
        return train(args, 0)
    # One process per worker (gloo on this host). The parent only forwards SIGTERM/SIGINT so that every
    # worker saves the same step before it stops.
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    ctx = mp.get_context('spawn')
    codes = ctx.Array('i', args.workers)
    procs = mp.start_processes(_worker, args=(args, port, codes), nprocs=args.workers, join=False, start_method='spawn')
    forward = lambda sig, _frame: [os.kill(pr.pid, sig) for pr in procs.processes if pr.is_alive()]
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while not procs.join():
        pass
    return max(codes)


def _worker(rank, args, port, codes):
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=args.workers)
    codes[rank] = train(args, rank)


def train(args, rank):
    """The training loop of one worker; rank 0 logs, evaluates and exports."""
    out_dir = args.out or os.path.join(args.run, 'final')
    os.makedirs(args.run, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log_file = open(os.path.join(args.run, 'log.txt'), 'a') if rank == 0 else None

    def log(msg):
        if log_file:
            print(msg, flush=True)
            log_file.write(msg + '\n')
            log_file.flush()

    ds = Dataset(args.data, args.demo_variants, args.gen_variants, args.seed)
    cfg = model_config(args, ds)
    model = TRM(cfg)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=args.weight_decay)
    ema = Ema(model, args.ema)
    carry = Carry(model.inner, args.batch // args.workers, cfg.seq_len)
    # Same initial weights on every worker; each draws its own examples and halting exploration.
    rng = np.random.RandomState(args.seed + 1 + 1000 * rank)
    if rank:
        torch.manual_seed(args.seed + 1000 * rank)
    step, elapsed = 0, 0.0
    state_path = os.path.join(args.run, 'state.pt')
    own_path = os.path.join(args.run, f'state.rank{rank}.pt') if rank else state_path
    if os.path.exists(state_path):
        s = torch.load(state_path)
        # Settings added to this script after the state was saved count as their defaults.
        saved = {k: v for k, v in {**run_identity(parse_args(['--data', args.data, '--run', args.run])), **s['args']}.items()
                 if k not in RESUMABLE_CHANGES}
        if saved != run_identity(args):
            raise SystemExit(f'{state_path} was written with other settings; use another --run or delete it')
        model.load_state_dict(s['model'])
        optimizer.load_state_dict(s['optimizer'])
        ema.shadow = s['ema']
        step, elapsed = s['step'], s['elapsed']
        if rank:  # the other workers keep their own carry and random streams
            s = torch.load(own_path)
            assert s['step'] == step, f'{own_path} is at step {s["step"]}, {state_path} at {step}'
        carry.load(s['carry'])
        rng.set_state(s['numpy_rng'])
        torch.set_rng_state(s['torch_rng'])
        log(f'resumed {state_path} at step {step} ({elapsed / 60:.1f} min trained)')
    else:
        log(f'data {args.data}: {len(ds.identifiers) - 1} puzzle rows, {len(ds.inputs)} examples '
            f'({len(ds.demo_idx)} demo, {len(ds.gen_idx)} generated), {len(ds.tests)} held-out test rows; '
            f'grid {cfg.grid_size}, model D={cfg.hidden_size} heads={cfg.num_heads} inter={cfg.intermediate_size} '
            f'L_layers={cfg.L_layers} H={cfg.H_cycles} L={cfg.L_cycles} P={cfg.puzzle_emb_len} '
            f'halt_max_steps={cfg.halt_max_steps}, {sum(p.numel() for p in model.parameters())} weights')

    def save_state():
        tmp = own_path + '.tmp'
        own = dict(carry=carry.state(), numpy_rng=rng.get_state(), torch_rng=torch.get_rng_state(), step=step)
        if rank == 0:
            own.update(args=run_identity(args), model=model.state_dict(), optimizer=optimizer.state_dict(),
                       ema=ema.shadow, elapsed=elapsed)
        torch.save(own, tmp)
        os.replace(tmp, own_path)

    if args.export_current:
        if step == 0:
            raise SystemExit(f'{state_path}: nothing saved yet to export')
        return export(args, ema.copy_of(model), ds, cfg, step, elapsed, out_dir, log)

    stop = {'now': False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))

    window = defaultdict(float)
    last_save = time.time()
    stopping = False  # with several workers, only what they agreed on at the last step (a signal may come mid-step)
    while step < args.steps and not stopping:
        t0 = time.time()
        m = train_step(model, carry, ds, rng, args, optimizer, step)
        ema.update(model, step)
        step += 1
        save_due = time.time() - last_save > args.save_minutes * 60
        if args.workers > 1:  # agree on stopping and saving; sum the metrics of the whole batch
            keys = sorted(m)
            v = torch.tensor([float(stop['now']), float(save_due and rank == 0)] + [m[k] for k in keys], dtype=torch.float64)
            dist.all_reduce(v)
            stopping, save_due = bool(v[0] > 0), bool(v[1] > 0)
            m = {k: float(x) / (args.workers if k in ('loss', 'lm', 'q', 'cell') else 1) for k, x in zip(keys, v[2:])}
        else:
            stopping = stop['now']
        elapsed += time.time() - t0
        for k, v in m.items():
            window[k] += v
        window['n'] += 1
        if step % args.log_every == 0 or step == args.steps:
            n = window['n']
            rate = elapsed / step
            log(f"step {step}/{args.steps} | loss {window['loss'] / n:.4f} (lm {window['lm'] / n:.4f} q {window['q'] / n:.4f}) "
                f"| cell acc {window['cell'] / n:.3f} | exact acc {window['exact_halted'] / max(1, window['halted']):.3f} "
                f"| halts at {window['halt_steps'] / max(1, window['halted']):.1f} "
                f"| {rate:.2f} s/step | ETA {(args.steps - step) * rate / 60:.1f} min")
            window = defaultdict(float)
        if step % args.eval_every == 0 and step < args.steps and rank == 0:
            r = evaluate(ema.copy_of(model), ds)
            log(f"eval step {step}: demo pass@1 {r['pass1']:.3f} pass@2 {r['pass2']:.3f} "
                f"({len(r['solved_pass2'])}/{r['tasks']} tasks) | exact by ACT step {r['per_step_exact']}")
        if save_due:
            save_state()
            last_save = time.time()
    save_state()
    if step < args.steps:
        log(f'stopped at step {step}; run the same command again to resume')
        return 1
    if rank:
        return 0
    return export(args, ema.copy_of(model), ds, cfg, step, elapsed, out_dir, log)


def export(args, final, ds, cfg, step, elapsed, out_dir, log):
    """Score the EMA model on the held-out demo tests and write the upstream-format outputs."""
    r = evaluate(final, ds)
    log(f"eval of step {step} (EMA): demo pass@1 {r['pass1']:.3f} pass@2 {r['pass2']:.3f} "
        f"({len(r['solved_pass2'])}/{r['tasks']} tasks) | exact by ACT step {r['per_step_exact']}")
    os.makedirs(out_dir, exist_ok=True)
    torch.save(upstream_state_dict(final), os.path.join(out_dir, f'step_{step}'))
    write_all_config(os.path.join(out_dir, 'all_config.yaml'), args, cfg, len(ds.identifiers))
    with open(os.path.join(out_dir, 'identifiers.json'), 'w') as f:
        json.dump(ds.identifiers, f)
    with open(os.path.join(out_dir, 'eval.json'), 'w') as f:
        json.dump(dict(step=step, minutes=elapsed / 60, **r), f, indent=1)
    if args.parity_out:
        write_parity(args.parity_out, final, ds)
    log(f'wrote {out_dir}/step_{step}, all_config.yaml, identifiers.json, eval.json'
        + (f' and parity fixture {args.parity_out}' if args.parity_out else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
