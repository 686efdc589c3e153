/**
 * The ONNX graphs of a TRM model (I/O contract: src/model/manifest.ts).
 * Op by op this follows upstream trm.py/layers.py (trm-reference.md §4):
 * sqrt(D)-scaled embeddings with the puzzle prefix, rotate-half RoPE with
 * float32 tables, non-causal softmax attention, SwiGLU, post-norm weightless
 * RMSNorm, lm_head over z_H[P:], q_head on z_H[:, 0].
 * Block weights are emitted once per graph and shared by every use, so the
 * fused step graph unrolls 15 `f` calls over a single set of initializers.
 */
import type { ModelConfig, Precision } from '../model/manifest.ts';
import { DataType, GraphBuilder, i64bytes } from './onnx.ts';
import { quantizeInt8, quantizeNBits4, toHalf, transpose } from './quantize.ts';
import { differentiate } from './grad.ts';
import { initializerF32, OnnxReadError, readInitializers } from './onnx-read.ts';

export interface LayerWeights {
  qkv: Float32Array; // [3D, D]
  o: Float32Array; // [D, D]
  gateUp: Float32Array; // [2I, D]
  down: Float32Array; // [D, I]
}

export interface TrmWeights {
  H_init: Float32Array;
  L_init: Float32Array;
  embed: Float32Array; // [V, D]
  embedPos?: Float32Array; // [P + seq_len, D], learned positions only
  lmHead: Float32Array; // [V, D]
  qHeadW: Float32Array; // [2, D]
  qHeadB: Float32Array; // [2]
  layers: LayerWeights[];
}

const B = 'batch';
const F = DataType.FLOAT;

/** A linear layer y = x·Wᵀ in some precision; `apply` may be called many times. */
type Linear = (x: string) => string;

export function makeLinear(g: GraphBuilder, name: string, w: Float32Array, out: number, inp: number, precision: Precision): Linear {
  switch (precision) {
    case 'fp32': {
      const wt = g.f32(name, [inp, out], transpose(w, out, inp));
      return (x) => g.o('MatMul', [x, wt]);
    }
    case 'fp16': {
      // Weights and the matmul in half precision; the residual stream, norms,
      // RoPE and softmax stay float32 (as upstream keeps them under bf16).
      const h = toHalf(transpose(w, out, inp));
      const wt = g.init(name, DataType.FLOAT16, [inp, out], new Uint8Array(h.buffer));
      return (x) => g.o('Cast', [g.o('MatMul', [g.o('Cast', [x], { to: DataType.FLOAT16 }), wt])], { to: F });
    }
    case 'q8': {
      // DequantizeLinear with unit scale, then the per-channel scales as a Mul: ORT's CPU
      // optimizer rewrites DequantizeLinear(scaled)→MatMul into a dynamically quantized
      // int8 matmul, which also quantizes the activations (measured: 5% of cells flip
      // after one step). This form stays weight-only on every EP.
      const { q, scale } = quantizeInt8(w, out, inp);
      const qn = g.init(`${name}_q8`, DataType.INT8, [inp, out], new Uint8Array(q.buffer));
      const ints = g.o('DequantizeLinear', [qn, g.scalarF32(1), g.init(`${name}_zp`, DataType.INT8, [], new Uint8Array(1))]);
      const wt = g.o('Mul', [ints, g.f32(`${name}_scale`, [out], scale)]);
      return (x) => g.o('MatMul', [x, wt]);
    }
    case 'q4': {
      const q = quantizeNBits4(w, out, inp);
      const bn = g.init(`${name}_q4`, DataType.UINT8, [out, q.kBlocks, q.blockSize / 2], q.packed);
      const sn = g.f32(`${name}_scales`, [out * q.kBlocks], q.scales);
      return (x) => g.o('MatMulNBits', [x, bn, sn], { K: inp, N: out, bits: 4, block_size: q.blockSize }, { domain: 'com.microsoft' });
    }
  }
}

/** RoPE tables exactly as upstream builds them: every intermediate rounded to float32. */
export function ropeTables(c: ModelConfig): { cos: Float32Array; sin: Float32Array } {
  const hd = c.hidden_size / c.num_heads, S = c.puzzle_emb_len + c.seq_len, half = hd / 2;
  const f = Math.fround;
  const invFreq = Array.from({ length: half }, (_, k) => f(1 / f(Math.pow(c.rope_theta, f(f(2 * k) / hd)))));
  const cos = new Float32Array(S * hd), sin = new Float32Array(S * hd);
  for (let t = 0; t < S; t++) {
    for (let k = 0; k < half; k++) {
      const a = f(t * invFreq[k]);
      cos[t * hd + k] = cos[t * hd + k + half] = Math.cos(a);
      sin[t * hd + k] = sin[t * hd + k + half] = Math.sin(a);
    }
  }
  return { cos, sin };
}

interface LevelHandle {
  layers: { qkv: Linear; o: Linear; gateUp: Linear; down: Linear }[];
  /** RoPE tables; null with learned positions (attention then sees no rotation). */
  rope: { cos: string; sin: string } | null;
}

const learnedPositions = (c: ModelConfig) => c.pos_encodings === 'learned';

function levelWeights(g: GraphBuilder, c: ModelConfig, w: TrmWeights, precision: Precision): LevelHandle {
  const D = c.hidden_size, I = c.intermediate_size, hd = D / c.num_heads, S = c.puzzle_emb_len + c.seq_len;
  let rope: LevelHandle['rope'] = null;
  if (!learnedPositions(c)) {
    const { cos, sin } = ropeTables(c);
    rope = { cos: g.f32('rope_cos', [S, hd], cos), sin: g.f32('rope_sin', [S, hd], sin) };
  }
  return {
    rope,
    layers: w.layers.map((l, i) => ({
      qkv: makeLinear(g, `L${i}_qkv`, l.qkv, 3 * D, D, precision),
      o: makeLinear(g, `L${i}_o`, l.o, D, D, precision),
      gateUp: makeLinear(g, `L${i}_gate_up`, l.gateUp, 2 * I, D, precision),
      down: makeLinear(g, `L${i}_down`, l.down, D, I, precision),
    })),
  };
}

function rmsNorm(g: GraphBuilder, x: string, eps: number): string {
  const variance = g.o('ReduceMean', [g.o('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  return g.o('Mul', [x, g.o('Reciprocal', [g.o('Sqrt', [g.o('Add', [variance, g.scalarF32(eps)])])])]);
}

/** L_level(state + (injA + injB)): upstream's f, all L_layers blocks. */
function emitLevel(g: GraphBuilder, c: ModelConfig, h: LevelHandle, state: string, injA: string, injB: string | null, output?: string): string {
  const D = c.hidden_size, I = c.intermediate_size, nH = c.num_heads, hd = D / nH;
  let x = g.o('Add', [state, injB ? g.o('Add', [injA, injB]) : injA]);
  const heads = (t: string) => g.o('Transpose', [g.o('Reshape', [t, g.i64([0, 0, nH, hd])])], { perm: [0, 2, 1, 3] });
  const rope = (t: string) => {
    if (!h.rope) return t;
    const [a, b] = g.op('Split', [t, g.i64([hd / 2, hd / 2])], { axis: -1 }, { outputs: 2 });
    const rotated = g.o('Concat', [g.o('Neg', [b]), a], { axis: -1 });
    return g.o('Add', [g.o('Mul', [t, h.rope.cos]), g.o('Mul', [rotated, h.rope.sin])]);
  };
  h.layers.forEach((l, i) => {
    const [q, k, v] = g.op('Split', [l.qkv(x), g.i64([D, D, D])], { axis: -1 }, { outputs: 3 });
    const qr = g.o('Mul', [rope(heads(q)), g.scalarF32(1 / Math.sqrt(hd))]);
    const kr = rope(heads(k));
    const scores = g.o('MatMul', [qr, g.o('Transpose', [kr], { perm: [0, 1, 3, 2] })]);
    const att = g.o('MatMul', [g.o('Softmax', [scores], { axis: -1 }), heads(v)]);
    const merged = g.o('Reshape', [g.o('Transpose', [att], { perm: [0, 2, 1, 3] }), g.i64([0, 0, D])]);
    x = rmsNorm(g, g.o('Add', [x, l.o(merged)]), c.rms_norm_eps);
    const [gate, up] = g.op('Split', [l.gateUp(x), g.i64([I, I])], { axis: -1 }, { outputs: 2 });
    const act = g.o('Mul', [g.o('Mul', [gate, g.o('Sigmoid', [gate])]), up]);
    x = rmsNorm(g, g.o('Add', [x, l.down(act)]), c.rms_norm_eps);
    if (i === h.layers.length - 1 && output) x = g.o('Identity', [x], undefined, { output });
  });
  return x;
}

function emitInput(g: GraphBuilder, c: ModelConfig, w: TrmWeights, tokens: string, puzzle: string): string {
  const D = c.hidden_size, P = c.puzzle_emb_len;
  const tok = g.o('Gather', [g.f32('embed_tokens', [c.vocab_size, D], w.embed), tokens], { axis: 0 });
  const padCount = P * D - c.puzzle_emb_ndim;
  const padded = padCount ? g.o('Pad', [puzzle, g.i64([0, 0, 0, padCount])]) : puzzle;
  const prefix = g.o('Reshape', [padded, g.i64([0, P, D])]);
  let x = g.o('Concat', [prefix, tok], { axis: 1 });
  if (learnedPositions(c)) {
    // trm.py: 0.707106781 · (embedding + embed_pos) keeps the forward variance, then the sqrt(D) scale.
    if (!w.embedPos) throw new Error('learned positions but no embed_pos weights');
    x = g.o('Mul', [g.o('Add', [x, g.f32('embed_pos', [P + c.seq_len, D], w.embedPos)]), g.scalarF32(0.707106781)]);
  }
  return g.o('Mul', [x, g.scalarF32(Math.sqrt(D))]);
}

function emitReadout(g: GraphBuilder, c: ModelConfig, w: TrmWeights, zH: string, outputs: { logits?: boolean; confidence?: boolean }) {
  const D = c.hidden_size, P = c.puzzle_emb_len, S = P + c.seq_len, V = c.vocab_size;
  const grid = g.o('Slice', [zH, g.i64([P]), g.i64([S]), g.i64([1])]);
  const logits = g.o('MatMul', [grid, g.f32('lm_head', [D, V], transpose(w.lmHead, V, D))], undefined, outputs.logits ? { output: 'logits' } : {});
  g.o('Cast', [g.o('ArgMax', [logits], { axis: -1, keepdims: 0 })], { to: DataType.UINT8 }, { output: 'grid' });
  if (outputs.confidence) g.o('ReduceMax', [g.o('Softmax', [logits], { axis: -1 })], { axes: [-1], keepdims: 0 }, { output: 'confidence' });
  const idx = (i: number) => g.init(g.fresh('idx'), DataType.INT64, [], i64bytes([i]));
  const first = g.o('Gather', [zH, idx(0)], { axis: 1 });
  const q = g.o('Add', [g.o('MatMul', [first, g.f32('q_head', [D, 2], transpose(w.qHeadW, 2, D))]), g.f32('q_head_bias', [2], w.qHeadB)]);
  g.o('Gather', [q, idx(0)], { axis: 1 }, { output: 'q_halt' });
  g.o('Gather', [q, idx(1)], { axis: 1 }, { output: 'q_continue' });
}

export function buildEmbedGraph(c: ModelConfig, w: TrmWeights): Uint8Array {
  const g = new GraphBuilder('trm_embed');
  const S = c.puzzle_emb_len + c.seq_len, D = c.hidden_size;
  g.input('tokens', DataType.INT32, [B, c.seq_len]);
  g.input('puzzle', F, [B, c.puzzle_emb_ndim]);
  const x = g.o('Identity', [emitInput(g, c, w, 'tokens', 'puzzle')], undefined, { output: 'x' });
  const shape = g.o('Shape', [x]);
  g.o('Expand', [g.f32('H_init', [D], w.H_init), shape], undefined, { output: 'z_H' });
  g.o('Expand', [g.f32('L_init', [D], w.L_init), shape], undefined, { output: 'z_L' });
  g.o('Expand', [g.scalarF32(0), shape], undefined, { output: 'zeros' });
  for (const n of ['x', 'z_H', 'z_L', 'zeros']) g.output(n, F, [B, S, D]);
  return g.toModel();
}

export function buildBlockGraph(c: ModelConfig, w: TrmWeights, precision: Precision): Uint8Array {
  const g = new GraphBuilder(`trm_block_${precision}`);
  const dims = [B, c.puzzle_emb_len + c.seq_len, c.hidden_size];
  for (const n of ['state', 'inj_a', 'inj_b']) g.input(n, F, dims);
  emitLevel(g, c, levelWeights(g, c, w, precision), 'state', 'inj_a', 'inj_b', 'out');
  g.output('out', F, dims);
  return g.toModel();
}

export function buildReadoutGraph(c: ModelConfig, w: TrmWeights): Uint8Array {
  const g = new GraphBuilder('trm_readout');
  g.input('z_H', F, [B, c.puzzle_emb_len + c.seq_len, c.hidden_size]);
  emitReadout(g, c, w, 'z_H', { logits: true, confidence: true });
  g.output('logits', F, [B, c.seq_len, c.vocab_size]);
  g.output('grid', DataType.UINT8, [B, c.seq_len]);
  g.output('confidence', F, [B, c.seq_len]);
  g.output('q_halt', F, [B]);
  g.output('q_continue', F, [B]);
  return g.toModel();
}

/** One whole ACT step in a single graph (for benchmarks: no per-block dispatch overhead). */
export function buildStepGraph(c: ModelConfig, w: TrmWeights, precision: Precision): Uint8Array {
  const g = new GraphBuilder(`trm_step_${precision}`);
  const dims = [B, c.puzzle_emb_len + c.seq_len, c.hidden_size];
  g.input('tokens', DataType.INT32, [B, c.seq_len]);
  g.input('puzzle', F, [B, c.puzzle_emb_ndim]);
  g.input('z_H', F, dims);
  g.input('z_L', F, dims);
  const x = emitInput(g, c, w, 'tokens', 'puzzle');
  const level = levelWeights(g, c, w, precision);
  let zH = 'z_H', zL = 'z_L';
  for (let h = 0; h < c.H_cycles; h++) {
    for (let l = 0; l < c.L_cycles; l++) zL = emitLevel(g, c, level, zL, zH, x);
    const last = h === c.H_cycles - 1;
    zH = emitLevel(g, c, level, zH, zL, null, last ? 'z_H_out' : undefined);
  }
  g.o('Identity', [zL], undefined, { output: 'z_L_out' });
  emitReadout(g, c, w, zH, {});
  g.output('z_H_out', F, dims);
  g.output('z_L_out', F, dims);
  g.output('grid', DataType.UINT8, [B, c.seq_len]);
  g.output('q_halt', F, [B]);
  g.output('q_continue', F, [B]);
  return g.toModel();
}

/**
 * Training loss of one ACT step (upstream losses.py ACTLossHead, training mode),
 * summed over the batch: per sequence the mean stablemax cross-entropy over its
 * label tokens (label 0 = PAD is ignored, EOS counts), plus 0.5 × BCE of q_halt
 * against "the argmax sequence is exactly right". Upstream evaluates stablemax in
 * float64; here it is float32 like the rest of the graph.
 */
function emitFitLoss(g: GraphBuilder, c: ModelConfig, logits: string, qHalt: string, labels: string): string {
  const V = c.vocab_size;
  const vocab = g.init('vocab_ids', DataType.INT32, [V], new Uint8Array(Int32Array.from({ length: V }, (_, i) => i).buffer));
  const onehot = g.o('Cast', [g.o('Equal', [g.o('Unsqueeze', [labels, g.i64([-1])]), vocab])], { to: F });
  const mask = g.o('Cast', [g.o('Greater', [labels, g.init('label_pad', DataType.INT32, [], new Uint8Array(4))])], { to: F });
  // stablemax s(x) = x + 1 for x ≥ 0, 1 / (1 − x) below, written branch-free as
  // relu(x) + 1 / (1 + relu(−x)) so that no branch is ever evaluated where it blows up.
  const s = g.o('Add', [g.o('Relu', [logits]), g.o('Reciprocal', [g.o('Add', [g.scalarF32(1), g.o('Relu', [g.o('Neg', [logits])])])])]);
  const logp = g.o('Sub', [g.o('Log', [s]), g.o('Log', [g.o('ReduceSum', [s, g.i64([-1])], { keepdims: 1 })])]);
  const nll = g.o('Neg', [g.o('ReduceSum', [g.o('Mul', [logp, onehot]), g.i64([-1])], { keepdims: 0 })]);
  const count = g.o('Max', [g.o('ReduceSum', [mask, g.i64([-1])], { keepdims: 0 }), g.scalarF32(1)]);
  const lmPerSeq = g.o('Div', [g.o('ReduceSum', [g.o('Mul', [nll, mask]), g.i64([-1])], { keepdims: 0 }), count]);
  const hit = g.o('Cast', [g.o('Equal', [g.o('ArgMax', [logits], { axis: -1, keepdims: 0 }), g.o('Cast', [labels], { to: DataType.INT64 })])], { to: F });
  const correct = g.o('ReduceMin', [g.o('Max', [hit, g.o('Sub', [g.scalarF32(1), mask])])], { axes: [-1], keepdims: 0 }, { output: 'correct' });
  const bce = g.o('Sub', [g.o('Softplus', [qHalt]), g.o('Mul', [qHalt, correct])]);
  const perSeq = g.o('Add', [lmPerSeq, g.o('Mul', [bce, g.scalarF32(0.5)])], undefined, { output: 'loss_per_seq' });
  return g.o('ReduceSum', [perSeq, g.i64([0])], { keepdims: 0 }, { output: 'loss' });
}

/** The inputs both gradient graphs take: tokens, puzzle row, the carry, labels. Returns the carry's dims. */
function fitInputs(g: GraphBuilder, c: ModelConfig): (number | string)[] {
  const dims = [B, c.puzzle_emb_len + c.seq_len, c.hidden_size];
  g.input('tokens', DataType.INT32, [B, c.seq_len]);
  g.input('puzzle', F, [B, c.puzzle_emb_ndim]);
  g.input('z_H', F, dims);
  g.input('z_L', F, dims);
  g.input('labels', DataType.INT32, [B, c.seq_len]);
  return dims;
}

/** The outputs both gradient graphs declare, d_<weight> of the `weights` after d_puzzle. */
function fitOutputs(g: GraphBuilder, c: ModelConfig, dims: (number | string)[], weights: { name: string; dims: number[] }[] = []): void {
  g.output('loss', F, []);
  g.output('d_puzzle', F, [B, c.puzzle_emb_ndim]);
  for (const t of weights) g.output(`d_${t.name}`, F, t.dims);
  g.output('loss_per_seq', F, [B]);
  g.output('correct', F, [B]);
  g.output('z_H_out', F, dims);
  g.output('z_L_out', F, dims);
  g.output('logits', F, [B, c.seq_len, c.vocab_size]);
  g.output('q_halt', F, [B]);
}

/**
 * The last H-cycle of one ACT step with its loss and d loss / d puzzle row, for
 * fitting a puzzle row with the network frozen (fp32 only). The first
 * H_cycles − 1 cycles run without gradient through the block graph, as upstream
 * runs them under no_grad; the row enters through x in every L update here.
 */
export function buildFitGraph(c: ModelConfig, w: TrmWeights): Uint8Array {
  const g = new GraphBuilder('trm_fit_grad');
  const dims = fitInputs(g, c);
  const x = emitInput(g, c, w, 'tokens', 'puzzle');
  const level = levelWeights(g, c, w, 'fp32');
  let zL = 'z_L';
  for (let l = 0; l < c.L_cycles; l++) zL = emitLevel(g, c, level, zL, 'z_H', x);
  const zH = emitLevel(g, c, level, 'z_H', zL, null, 'z_H_out');
  g.o('Identity', [zL], undefined, { output: 'z_L_out' });
  emitReadout(g, c, w, zH, { logits: true });
  const loss = emitFitLoss(g, c, 'logits', 'q_halt', 'labels');
  const [dPuzzle] = differentiate(g, loss, ['puzzle']);
  g.o('Identity', [dPuzzle], undefined, { output: 'd_puzzle' });
  fitOutputs(g, c, dims);
  return g.toModel();
}

/**
 * The network's weight tensors in graph layout (linears stored transposed,
 * [in, out], as the graphs hold them), by initializer name. `trained` marks
 * the tensors whole-network fine-tuning updates: H_init/L_init only seed a
 * reset carry, which enters the last H-cycle through the no-gradient cycles
 * (detached upstream too), so they never get a gradient.
 */
export interface NamedWeight { name: string; dims: number[]; data: Float32Array; trained: boolean }

export function graphLayoutWeights(c: ModelConfig, w: TrmWeights): NamedWeight[] {
  const D = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const t = (name: string, out: number, inp: number, a: Float32Array): NamedWeight => ({ name, dims: [inp, out], data: transpose(a, out, inp), trained: true });
  return [
    { name: 'H_init', dims: [D], data: w.H_init, trained: false },
    { name: 'L_init', dims: [D], data: w.L_init, trained: false },
    { name: 'embed_tokens', dims: [V, D], data: w.embed, trained: true },
    ...(w.embedPos ? [{ name: 'embed_pos', dims: [c.puzzle_emb_len + c.seq_len, D], data: w.embedPos, trained: true }] : []),
    t('lm_head', V, D, w.lmHead),
    t('q_head', 2, D, w.qHeadW),
    { name: 'q_head_bias', dims: [2], data: w.qHeadB, trained: true },
    ...w.layers.flatMap((l, i) => [t(`L${i}_qkv`, 3 * D, D, l.qkv), t(`L${i}_o`, D, D, l.o), t(`L${i}_gate_up`, 2 * I, D, l.gateUp), t(`L${i}_down`, D, I, l.down)]),
  ];
}

/** Number of trained weights (what `trm convert --grad` compares against the fit_full.onnx limit). */
export function trainedWeightCount(c: ModelConfig): number {
  const D = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const positions = learnedPositions(c) ? (c.puzzle_emb_len + c.seq_len) * D : 0;
  return 2 * V * D + 2 * D + 2 + positions + c.L_layers * (3 * D * D + D * D + 2 * I * D + D * I);
}

/** fit_full.onnx is written only for models up to this many trained weights (Adam keeps two more copies). */
export const FULL_FIT_MAX_WEIGHTS = 2_000_000;

/** TrmWeights back from graph-layout tensors (the inverse of graphLayoutWeights; transposes are exact). */
export function weightsFromGraphLayout(c: ModelConfig, get: (name: string, size: number) => Float32Array): TrmWeights {
  const D = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const t = (name: string, out: number, inp: number) => transpose(get(name, out * inp), inp, out);
  return {
    H_init: get('H_init', D),
    L_init: get('L_init', D),
    embed: get('embed_tokens', V * D),
    ...(learnedPositions(c) ? { embedPos: get('embed_pos', (c.puzzle_emb_len + c.seq_len) * D) } : {}),
    lmHead: t('lm_head', V, D),
    qHeadW: t('q_head', 2, D),
    qHeadB: get('q_head_bias', 2),
    layers: Array.from({ length: c.L_layers }, (_, i) => ({
      qkv: t(`L${i}_qkv`, 3 * D, D), o: t(`L${i}_o`, D, D), gateUp: t(`L${i}_gate_up`, 2 * I, D), down: t(`L${i}_down`, D, I),
    })),
  };
}

/**
 * The fp32 forward graphs (embed, block, readout) of a network with the given
 * weights: the engine runs a whole-network fine-tuned task on these. Pure
 * GraphBuilder work, so it runs in the browser worker as well as in Node.
 */
export function buildGraphsWithWeights(c: ModelConfig, w: TrmWeights): { embed: Uint8Array; block: Uint8Array; readout: Uint8Array } {
  return { embed: buildEmbedGraph(c, w), block: buildBlockGraph(c, w, 'fp32'), readout: buildReadoutGraph(c, w) };
}

/**
 * Whole-network fine-tuning: one entire ACT step with its loss and the
 * gradient w.r.t. the puzzle row and every trained weight (fp32).
 *
 * Unlike fit_grad.onnx (last H-cycle only, frozen weights baked in), the
 * weights here are plain graph inputs named like their initializers elsewhere:
 * onnxruntime-node drops feeds for "overridable initializers" (an initializer
 * also listed as input is not in session.inputNames; measured: the fed value
 * was ignored), so the graph holds no weights and its caller feeds them every
 * step. Because the weights change every step, the H_cycles − 1 no-gradient
 * cycles run inside this graph too (the frozen block graph cannot serve them);
 * the carry entering the last H-cycle is detached (differentiate's `stop`),
 * exactly upstream's torch.no_grad cycles. Inputs: tokens, puzzle, z_H, z_L
 * (the carry at the start of the step), labels, the trained weights.
 * Outputs: loss, d_puzzle, d_<weight> for each trained weight, loss_per_seq,
 * correct, z_H_out, z_L_out, logits, q_halt.
 */
export function buildFitFullGraph(c: ModelConfig, w: TrmWeights): Uint8Array {
  const g = new GraphBuilder('trm_fit_full');
  const dims = fitInputs(g, c);
  const x = emitInput(g, c, w, 'tokens', 'puzzle');
  const level = levelWeights(g, c, w, 'fp32');
  let zH = 'z_H', zL = 'z_L';
  for (let h = 0; h < c.H_cycles - 1; h++) {
    for (let l = 0; l < c.L_cycles; l++) zL = emitLevel(g, c, level, zL, zH, x);
    zH = emitLevel(g, c, level, zH, zL, null);
  }
  // Detach the carry entering the last H-cycle (the step's inputs z_H/z_L need no gradient anyway).
  const stop: string[] = [];
  if (c.H_cycles > 1) {
    zH = g.o('Identity', [zH]);
    zL = g.o('Identity', [zL]);
    stop.push(zH, zL);
  }
  for (let l = 0; l < c.L_cycles; l++) zL = emitLevel(g, c, level, zL, zH, x);
  emitLevel(g, c, level, zH, zL, null, 'z_H_out');
  g.o('Identity', [zL], undefined, { output: 'z_L_out' });
  emitReadout(g, c, w, 'z_H_out', { logits: true });
  const loss = emitFitLoss(g, c, 'logits', 'q_halt', 'labels');

  // The weights become inputs: drop their initializers, declare inputs of the same name and shape.
  const trained = graphLayoutWeights(c, w).filter((t) => t.trained);
  for (const t of trained) {
    const at = g.initializers.findIndex((i) => i.name === t.name);
    if (at < 0) throw new Error(`fit_full graph: no initializer "${t.name}" (graph naming changed?)`);
    g.initializers.splice(at, 1);
    g.input(t.name, F, t.dims);
  }
  const grads = differentiate(g, loss, ['puzzle', ...trained.map((t) => t.name)], { stop });
  g.o('Identity', [grads[0]], undefined, { output: 'd_puzzle' });
  trained.forEach((t, i) => g.o('Identity', [grads[i + 1]], undefined, { output: `d_${t.name}` }));
  fitOutputs(g, c, dims, trained);
  return g.toModel();
}

/**
 * A converted model's weights, read back from its fp32 forward graphs (the
 * model directory keeps no other copy): H_init, L_init, embed_tokens from
 * embed.onnx, the layers from block_fp32.onnx, lm_head and q_head from readout.onnx.
 */
export function weightsFromModelGraphs(c: ModelConfig, files: { embed: Uint8Array; block: Uint8Array; readout: Uint8Array }): TrmWeights {
  const sources = Object.entries(files).map(([file, bytes]) => [file, readInitializers(bytes)] as const);
  return weightsFromGraphLayout(c, (name, size) => {
    const found = sources.find(([, inits]) => inits.has(name));
    if (!found) throw new OnnxReadError(`no initializer "${name}" in the embed, block (fp32) or readout graph`);
    const t = initializerF32(found[1], name, `${found[0]} graph`);
    if (t.data.length !== size) throw new OnnxReadError(`${found[0]} graph: "${name}" has ${t.data.length} values, the config implies ${size}`);
    return t.data;
  });
}
