"""Tiny Recursive Model (TRM), re-implemented for torch 1.13 on CPU.

Architecture, parameter names and shapes follow upstream
SamsungSAILMontreal/TinyRecursiveModels@e7b68717 (models/recursive_reasoning/trm.py,
models/layers.py), so `state_dict()` under the prefix `model.inner.` is a drop-in
upstream checkpoint. Differences are only in the training plumbing: explicit
attention (torch 1.13 has no SDPA), float32 compute, and a plain sign-SGD step
for the puzzle table instead of the distributed sparse optimizer.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_LABEL = -100


@dataclass
class TRMConfig:
    hidden_size: int
    num_heads: int
    expansion: float
    L_layers: int
    H_cycles: int
    L_cycles: int
    halt_max_steps: int
    halt_exploration_prob: float
    puzzle_emb_len: int
    num_puzzle_identifiers: int
    grid_size: int
    vocab_size: int = 12
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    # 'rope' (upstream's ARC setting) or 'learned': an absolute position table added to the input.
    pos_encodings: str = 'rope'
    # With learned positions: 'random' (upstream) or 'grid', a 2-D sine/cosine start for the table
    # (row features in one half, column features in the other) that the training then adjusts.
    pos_init: str = 'random'

    @property
    def seq_len(self):
        return self.grid_size * self.grid_size

    @property
    def intermediate_size(self):
        # layers.py: _find_multiple(round(expansion * hidden * 2 / 3), 256)
        inter = round(self.expansion * self.hidden_size * 2 / 3)
        return -(inter // -256) * 256


def trunc_normal_(tensor, std):
    """Truncated normal at ±2σ with the variance corrected to std², as upstream common.py."""
    if std == 0:
        return tensor.zero_()
    lower, upper = -2.0, 2.0
    sqrt2 = math.sqrt(2)
    a, b = math.erf(lower / sqrt2), math.erf(upper / sqrt2)
    z = (b - a) / 2
    c = (2 * math.pi) ** -0.5
    pdf_u, pdf_l = c * math.exp(-0.5 * upper ** 2), c * math.exp(-0.5 * lower ** 2)
    comp_std = std / math.sqrt(1 - (upper * pdf_u - lower * pdf_l) / z - ((pdf_u - pdf_l) / z) ** 2)
    with torch.no_grad():
        tensor.uniform_(a, b).erfinv_().mul_(sqrt2 * comp_std).clamp_(lower * comp_std, upper * comp_std)
    return tensor


def rms_norm(x, eps):
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


class CastedLinear(nn.Module):
    def __init__(self, in_features, out_features, bias):
        super().__init__()
        self.weight = nn.Parameter(trunc_normal_(torch.empty(out_features, in_features), std=in_features ** -0.5))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class CastedEmbedding(nn.Module):
    def __init__(self, num, dim, init_std):
        super().__init__()
        self.embedding_weight = nn.Parameter(trunc_normal_(torch.empty(num, dim), std=init_std))

    def forward(self, ids):
        return F.embedding(ids, self.embedding_weight)


class PuzzleEmbedding(nn.Module):
    """The per-variant table. A buffer, as upstream's CastedSparseEmbedding: rows are
    trained by `sign_sgd_step` on the rows of the last batch only."""

    def __init__(self, num, dim):
        super().__init__()
        self.register_buffer('weights', torch.zeros(num, dim))
        self.local_ids = None
        self.local_weights = None

    def forward(self, ids):
        if not self.training:
            return self.weights[ids]
        with torch.no_grad():
            self.local_ids = ids
            self.local_weights = self.weights[ids].clone().requires_grad_(True)
        return self.local_weights

    @torch.no_grad()
    def sign_sgd_step(self, lr, weight_decay, distributed=False):
        if self.local_weights is None or self.local_weights.grad is None:
            return
        if distributed:  # every worker's rows, summed like upstream's all-gather (CastedSparseEmbeddingSignSGD_Distributed)
            grad = torch.zeros_like(self.weights).index_add_(0, self.local_ids, self.local_weights.grad)
            used = torch.zeros(len(self.weights)).index_add_(0, self.local_ids, torch.ones(len(self.local_ids)))
            torch.distributed.all_reduce(grad)
            torch.distributed.all_reduce(used)
            ids = used.nonzero().squeeze(1)
            grad = grad[ids]
        else:
            ids, inverse = self.local_ids.unique(return_inverse=True)
            grad = torch.zeros(len(ids), self.weights.shape[1]).index_add_(0, inverse, self.local_weights.grad)
        rows = self.weights[ids]
        rows.mul_(1.0 - lr * weight_decay).add_(torch.sign(grad), alpha=-lr)
        self.weights[ids] = rows
        self.local_weights = None


class Rotary(nn.Module):
    def __init__(self, dim, max_positions, base):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
        freqs = torch.outer(torch.arange(max_positions, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer('cos_cached', emb.cos(), persistent=False)
        self.register_buffer('sin_cached', emb.sin(), persistent=False)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.qkv_proj = CastedLinear(hidden, 3 * hidden, bias=False)
        self.o_proj = CastedLinear(hidden, hidden, bias=False)

    def forward(self, x, cos, sin):
        B, S, D = x.shape
        qkv = self.qkv_proj(x).view(B, S, 3 * self.heads, self.head_dim)
        q, k, v = qkv[:, :, : self.heads], qkv[:, :, self.heads: 2 * self.heads], qkv[:, :, 2 * self.heads:]
        if cos is not None:  # learned positions: no rotation
            cos, sin = cos[:, None, :], sin[:, None, :]  # [S,1,hd] broadcasts over heads
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B,H,S,hd]
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)  # non-causal, no mask
        out = (att @ v).transpose(1, 2).reshape(B, S, D)
        return self.o_proj(out)


class SwiGLU(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.gate_up_proj = CastedLinear(hidden, 2 * inter, bias=False)
        self.down_proj = CastedLinear(inter, hidden, bias=False)

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg.hidden_size, cfg.num_heads)
        self.mlp = SwiGLU(cfg.hidden_size, cfg.intermediate_size)
        self.eps = cfg.rms_norm_eps

    def forward(self, h, cos, sin):
        # Post-norm with a weightless RMSNorm.
        h = rms_norm(h + self.self_attn(h, cos, sin), self.eps)
        return rms_norm(h + self.mlp(h), self.eps)


class ReasoningModule(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.L_layers)])

    def forward(self, state, injection, cos, sin):
        h = state + injection
        for layer in self.layers:
            h = layer(h, cos, sin)
        return h


def grid_positions(grid_size, dim):
    """[grid_size², dim] sin/cos features of the row (first half) and column (second half).

    Why: the table starts knowing the grid's geometry instead of discovering it, and a reflection
    about row c is linear in such features (cos ω(2c−r) = cos 2ωc·cos ωr + sin 2ωc·sin ωr). The
    previous demo model (run d8g) used it; flips still were not learned at hidden 64
    (models/training/README.md).
    Scaled to the random init's norm (≈1).
    """
    half = dim // 2
    freqs = math.pi * torch.arange(1, half // 2 + 1, dtype=torch.float32) / (half // 2)
    angles = torch.arange(grid_size, dtype=torch.float32)[:, None] * freqs
    feats = torch.cat((torch.sin(angles), torch.cos(angles)), dim=1)  # [G, half]
    rows = feats[:, None, :].expand(grid_size, grid_size, half)
    cols = feats[None, :, :].expand(grid_size, grid_size, half)
    table = torch.cat((rows, cols), dim=2).reshape(grid_size * grid_size, 2 * half)
    return F.pad(table, (0, dim - 2 * half)) / math.sqrt(half)


class TRMInner(nn.Module):
    """One ACT step. Registration order reproduces upstream's state-dict key order."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D = cfg.hidden_size
        self.embed_scale = math.sqrt(D)
        self.register_buffer('H_init', trunc_normal_(torch.empty(D), std=1))
        self.register_buffer('L_init', trunc_normal_(torch.empty(D), std=1))
        self.embed_tokens = CastedEmbedding(cfg.vocab_size, D, init_std=1.0 / self.embed_scale)
        self.lm_head = CastedLinear(D, cfg.vocab_size, bias=False)
        self.q_head = CastedLinear(D, 2, bias=True)
        self.puzzle_emb = PuzzleEmbedding(cfg.num_puzzle_identifiers, D)
        if cfg.pos_encodings == 'rope':
            self.rotary_emb = Rotary(D // cfg.num_heads, cfg.puzzle_emb_len + cfg.seq_len, cfg.rope_theta)
        elif cfg.pos_encodings == 'learned':
            self.embed_pos = CastedEmbedding(cfg.puzzle_emb_len + cfg.seq_len, D, init_std=1.0 / self.embed_scale)
            if cfg.pos_init == 'grid':
                with torch.no_grad():
                    self.embed_pos.embedding_weight[cfg.puzzle_emb_len:] = grid_positions(cfg.grid_size, D)
            elif cfg.pos_init != 'random':
                raise ValueError(f'pos_init {cfg.pos_init!r}: expected random or grid')
        else:
            raise ValueError(f'pos_encodings {cfg.pos_encodings!r}: expected rope or learned')
        self.L_level = ReasoningModule(cfg)
        with torch.no_grad():  # q-head starts out "never halt" (trm.py:156-160)
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5)

    def input_embeddings(self, tokens, puzzle_ids):
        return self.embed_rows(tokens, self.puzzle_emb(puzzle_ids))

    def embed_rows(self, tokens, pe):
        """Input embedding with the puzzle vectors given directly ([B, D]; grad_reference differentiates them)."""
        cfg = self.cfg
        emb = self.embed_tokens(tokens.long())
        # Prefix slot 0 is the puzzle vector, the other slots are zeros.
        pe = F.pad(pe, (0, (cfg.puzzle_emb_len - 1) * cfg.hidden_size)).view(-1, cfg.puzzle_emb_len, cfg.hidden_size)
        x = torch.cat((pe, emb), dim=1)
        if cfg.pos_encodings == 'learned':  # trm.py: 1/sqrt(2) keeps the forward variance
            x = 0.707106781 * (x + self.embed_pos.embedding_weight)
        return self.embed_scale * x

    def rope_tables(self):
        """(cos, sin) for attention, or (None, None) with learned positions."""
        rope = getattr(self, 'rotary_emb', None)
        return (rope.cos_cached, rope.sin_cached) if rope is not None else (None, None)

    def initial_carry(self, batch):
        S = self.cfg.puzzle_emb_len + self.cfg.seq_len
        return (self.H_init.view(1, 1, -1).expand(batch, S, -1).clone(),
                self.L_init.view(1, 1, -1).expand(batch, S, -1).clone())

    def forward(self, carry, tokens, puzzle_ids):
        cfg = self.cfg
        cos, sin = self.rope_tables()
        x = self.input_embeddings(tokens, puzzle_ids)
        z_H, z_L = carry
        # Only the last H-cycle carries gradients (trm.py:207-216).
        with torch.no_grad():
            for _ in range(cfg.H_cycles - 1):
                for _ in range(cfg.L_cycles):
                    z_L = self.L_level(z_L, z_H + x, cos, sin)
                z_H = self.L_level(z_H, z_L, cos, sin)
        for _ in range(cfg.L_cycles):
            z_L = self.L_level(z_L, z_H + x, cos, sin)
        z_H = self.L_level(z_H, z_L, cos, sin)
        logits = self.lm_head(z_H)[:, cfg.puzzle_emb_len:]
        q = self.q_head(z_H[:, 0]).float()
        return (z_H.detach(), z_L.detach()), logits, q[..., 0], q[..., 1]


class TRM(nn.Module):
    """Holds the inner model under the attribute path upstream saves: model.inner.*"""

    def __init__(self, cfg):
        super().__init__()
        self.inner = TRMInner(cfg)


def log_stablemax(x, dim=-1):
    s = torch.where(x < 0, 1 / (1 - x + 1e-30), x + 1)
    return torch.log(s / s.sum(dim=dim, keepdim=True))


def stablemax_cross_entropy(logits, labels):
    """losses.py: per-token loss, 0 where the label is ignored."""
    logprobs = log_stablemax(logits.double())
    valid = labels != IGNORE_LABEL
    picked = torch.gather(logprobs, -1, torch.where(valid, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    return -torch.where(valid, picked, torch.zeros_like(picked))
