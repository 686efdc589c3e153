/**
 * TRM model config from upstream's all_config.yaml (the `arch` block),
 * cross-checked against the checkpoint's tensor shapes. Only the attention
 * TRM (trm@TinyRecursiveReasoningModel_ACTV1, RoPE or learned positions, mlp_t false) is supported;
 * everything dimension-like is read, nothing about ARC-AGI-2 is assumed.
 */
import type { ModelConfig } from '../model/manifest.ts';
import { ConfigError, ShapeMismatchError } from './errors.ts';
import { parseYaml, type YamlValue } from './yaml.ts';

/** What all_config.yaml decides; the rest (vocab, rows, canvas) comes from tensors and options. */
export interface ArchConfig {
  name: string;
  hidden_size: number;
  num_heads: number;
  expansion: number;
  L_layers: number;
  H_cycles: number;
  L_cycles: number;
  halt_max_steps: number;
  puzzle_emb_ndim: number;
  puzzle_emb_len: number;
  rope_theta: number;
  pos_encodings: 'rope' | 'learned';
  rms_norm_eps: number;
  forward_dtype: string;
}

const SUPPORTED_ARCH = 'recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1';

export function readArchConfig(yamlText: string, where = 'all_config.yaml'): ArchConfig {
  const doc = parseYaml(yamlText, where);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${where}: expected a mapping at the top level`);
  const arch = (doc as Record<string, YamlValue>).arch;
  if (!arch || typeof arch !== 'object' || Array.isArray(arch)) throw new ConfigError(`${where}: no "arch" mapping (is this upstream's all_config.yaml?)`);
  const a = arch as Record<string, YamlValue>;
  const num = (k: string, dflt?: number, integer = true): number => {
    const v = a[k];
    if (v === undefined || v === null) {
      if (dflt === undefined) throw new ConfigError(`${where}: arch.${k} is missing`);
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) throw new ConfigError(`${where}: arch.${k} must be ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`);
    return v;
  };
  const name = String(a.name ?? '');
  if (name !== SUPPORTED_ARCH) throw new ConfigError(`${where}: arch.name "${name}" is not supported (only ${SUPPORTED_ARCH}; HRM and other variants differ in structure)`);
  if (a.mlp_t === true) throw new ConfigError(`${where}: arch.mlp_t: true (the MLP-over-sequence TRM used for Sudoku) is not supported; only the attention variant is`);
  const pos = a.pos_encodings ?? 'rope';
  if (pos !== 'rope' && pos !== 'learned') throw new ConfigError(`${where}: arch.pos_encodings "${String(pos)}" is not supported (only rope or learned)`);
  const hidden = num('hidden_size');
  const heads = num('num_heads');
  if (hidden <= 0 || heads <= 0 || hidden % heads) throw new ConfigError(`${where}: arch.hidden_size ${hidden} is not divisible by arch.num_heads ${heads}`);
  if (pos === 'rope' && (hidden / heads) % 2) throw new ConfigError(`${where}: head dim ${hidden / heads} must be even for rotate-half RoPE`);
  const ndim = num('puzzle_emb_ndim', 0);
  if (ndim <= 0) throw new ConfigError(`${where}: arch.puzzle_emb_ndim is ${ndim}; models without a puzzle embedding are not supported`);
  const lenCfg = num('puzzle_emb_len', 16);
  // Upstream: puzzle_emb_len 0 means ceil(ndim / hidden).
  const puzzle_emb_len = lenCfg === 0 ? Math.ceil(ndim / hidden) : lenCfg;
  if (puzzle_emb_len * hidden < ndim) throw new ConfigError(`${where}: arch.puzzle_emb_len ${puzzle_emb_len} × hidden ${hidden} cannot hold puzzle_emb_ndim ${ndim}`);
  const cfg: ArchConfig = {
    name,
    hidden_size: hidden,
    num_heads: heads,
    expansion: num('expansion', undefined, false),
    L_layers: num('L_layers'),
    H_cycles: num('H_cycles'),
    L_cycles: num('L_cycles'),
    halt_max_steps: num('halt_max_steps'),
    puzzle_emb_ndim: ndim,
    puzzle_emb_len,
    rope_theta: num('rope_theta', 10000, false),
    pos_encodings: pos,
    rms_norm_eps: num('rms_norm_eps', 1e-5, false),
    forward_dtype: String(a.forward_dtype ?? 'bfloat16'),
  };
  for (const k of ['L_layers', 'H_cycles', 'L_cycles', 'halt_max_steps'] as const) {
    if (cfg[k] < 1) throw new ConfigError(`${where}: arch.${k} must be ≥ 1, got ${cfg[k]}`);
  }
  return cfg;
}

/** Python's round() (half to even), as upstream's _find_multiple(round(...)) uses it. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x), d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** SwiGLU width: ceil(round(expansion·D·2/3) / 256) · 256 (layers.py). */
export function intermediateSize(hidden: number, expansion: number): number {
  return Math.ceil(roundHalfEven((expansion * hidden * 2) / 3) / 256) * 256;
}

/** Every state-dict key (prefix stripped) and its shape, for a config. */
export function expectedShapes(
  c: Pick<ModelConfig, 'hidden_size' | 'L_layers' | 'intermediate_size' | 'vocab_size' | 'num_puzzle_identifiers' | 'puzzle_emb_ndim'>
    & Partial<Pick<ModelConfig, 'pos_encodings' | 'puzzle_emb_len' | 'seq_len'>>,
): Map<string, number[]> {
  const D = c.hidden_size, I = c.intermediate_size;
  const m = new Map<string, number[]>([
    ['H_init', [D]],
    ['L_init', [D]],
    ['embed_tokens.embedding_weight', [c.vocab_size, D]],
    ['lm_head.weight', [c.vocab_size, D]],
    ['q_head.weight', [2, D]],
    ['q_head.bias', [2]],
    ['puzzle_emb.weights', [c.num_puzzle_identifiers, c.puzzle_emb_ndim]],
  ]);
  if (c.pos_encodings === 'learned') m.set('embed_pos.embedding_weight', [c.puzzle_emb_len! + c.seq_len!, D]);
  for (let l = 0; l < c.L_layers; l++) {
    const p = `L_level.layers.${l}.`;
    m.set(p + 'self_attn.qkv_proj.weight', [3 * D, D]);
    m.set(p + 'self_attn.o_proj.weight', [D, D]);
    m.set(p + 'mlp.gate_up_proj.weight', [2 * I, D]);
    m.set(p + 'mlp.down_proj.weight', [D, I]);
  }
  return m;
}

/**
 * Combines the yaml with the two numbers only the checkpoint knows (vocab,
 * puzzle rows) and the canvas size (dataset metadata, not in the yaml), then
 * checks every tensor shape against the result.
 */
export function resolveModelConfig(arch: ArchConfig, shapes: Map<string, number[]>, gridSize: number, where = 'checkpoint'): ModelConfig {
  const vocab = shapes.get('embed_tokens.embedding_weight')?.[0];
  const rows = shapes.get('puzzle_emb.weights')?.[0];
  if (vocab === undefined || rows === undefined) throw new ShapeMismatchError(`${where}: cannot read vocab size / puzzle rows (embed_tokens.embedding_weight or puzzle_emb.weights missing)`);
  if (!Number.isInteger(gridSize) || gridSize < 1) throw new ConfigError(`grid size must be a positive integer, got ${gridSize}`);
  const cfg: ModelConfig = {
    hidden_size: arch.hidden_size,
    num_heads: arch.num_heads,
    expansion: arch.expansion,
    intermediate_size: intermediateSize(arch.hidden_size, arch.expansion),
    L_layers: arch.L_layers,
    H_cycles: arch.H_cycles,
    L_cycles: arch.L_cycles,
    halt_max_steps: arch.halt_max_steps,
    puzzle_emb_len: arch.puzzle_emb_len,
    puzzle_emb_ndim: arch.puzzle_emb_ndim,
    vocab_size: vocab,
    grid_size: gridSize,
    seq_len: gridSize * gridSize,
    rope_theta: arch.rope_theta,
    ...(arch.pos_encodings === 'learned' ? { pos_encodings: 'learned' as const } : {}),
    rms_norm_eps: arch.rms_norm_eps,
    num_puzzle_identifiers: rows,
  };
  for (const [key, want] of expectedShapes(cfg)) {
    const got = shapes.get(key);
    if (got && (got.length !== want.length || got.some((d, i) => d !== want[i]))) {
      throw new ShapeMismatchError(`${where}: ${key} has shape [${got}], but all_config.yaml (hidden_size ${cfg.hidden_size}, L_layers ${cfg.L_layers}, intermediate ${cfg.intermediate_size}, puzzle_emb_ndim ${cfg.puzzle_emb_ndim}) implies [${want}]`);
    }
  }
  return cfg;
}
