/**
 * Fitting a puzzle-embedding row for a task the model has no row for, with the
 * network frozen (trm-reference.md §8: upstream trains new rows with
 * freeze_weights). Written against onnxruntime-common like engine/recursion.ts,
 * so the same loop can run in the web worker.
 *
 * Upstream's training semantics: one fitting step is one ACT step per
 * demonstration, continuing from that demonstration's carry (deep
 * supervision); the carry is detached between steps, the first H_cycles − 1
 * cycles run without gradient (block graph) and the last H-cycle runs through
 * fit_grad.onnx, which returns the loss and d loss / d puzzle row. A
 * demonstration's carry restarts from H_init/L_init once it halts (q_halt > 0
 * or halt_max_steps steps), as upstream's ACT wrapper does in training.
 *
 * Augmented variants (upstream trains one row per augmented puzzle identifier) are fitted
 * in the same loop: each demonstration carries its variant (row) index, runs with that row,
 * and each row's gradient is the mean over its own demonstrations.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { augmentGrid, type Augmentation } from '../arc/augment.ts';
import { gridToTokens } from '../arc/tokens.ts';
import type { Task } from '../arc/types.ts';
import type { ModelConfig } from '../model/manifest.ts';
import { runRecursion, type OrtBinding, type RunControl, type TrmSessions } from '../engine/recursion.ts';

export interface FitSessions extends TrmSessions {
  /** fit_grad.onnx (manifest graphs.grad). */
  grad: InferenceSession;
}

/** One demonstration as token canvases, int32 [seq_len] each. */
export interface FitExample {
  tokens: Int32Array;
  labels: Int32Array;
  /** Which row (augmented variant) it trains: index into the [K, W] rows; default 0. */
  variant?: number;
}

/** Fitting steps when the caller names none (issue 9's experiment: 100 steps gave 13-18%, 400 gave 33-46%). */
export const DEFAULT_FIT_STEPS = 100;

export class FitError extends Error {
  /** For grids too large for the canvas: which one (`train[0].input`) and its size. */
  readonly field?: { path: string; rows: number; cols: number; gridSize: number };
  constructor(message: string, field?: FitError['field']) { super(message); this.name = 'FitError'; this.field = field; }
}

export interface FitProgress {
  step: number;
  steps: number;
  /** Mean loss per demonstration of this step. */
  loss: number;
  /** Demonstrations whose argmax sequence was exactly right at this step's ACT depth. */
  correct: number;
  examples: number;
  /** The rows after this step's update, float32 [K, W] (the loop's own buffer: copy it to keep it). */
  row: Float32Array;
  /** Session calls per step (demonstrations are chunked by maxBatch). */
  batches: number;
}

export interface FitOptions {
  config: ModelConfig;
  examples: FitExample[];
  /**
   * Starting rows float32 [K, puzzle_emb_ndim], one per variant (K = 1 + the highest example
   * variant), or one row [puzzle_emb_ndim] that starts every variant (upstream: the table's mean row).
   */
  init: Float32Array;
  steps: number;
  /** Adam (default; measured to fit 3-4 demonstrations in few steps) or upstream's sign-SGD for puzzle rows. */
  optimizer?: 'adam' | 'sign';
  lr?: number;
  /** Decoupled weight decay of sign-SGD (upstream puzzle_emb_weight_decay). */
  weightDecay?: number;
  /** Demonstrations per session call; more are run in chunks and their gradients summed. */
  maxBatch?: number;
  control?: RunControl;
  onProgress?: (p: FitProgress) => void | Promise<void>;
}

export interface FitResult {
  /** float32 [K, puzzle_emb_ndim]. */
  row: Float32Array;
  /** Mean loss per demonstration, one per step. */
  losses: number[];
}

/** Token canvases of a task's demonstrations; refuses grids larger than the model's canvas. */
export function taskExamples(task: Task, gridSize: number): FitExample[] {
  if (!task.train.length) throw new FitError(`task "${task.id}" has no demonstrations to fit on`);
  return task.train.map((p, i) => {
    for (const [field, grid] of [['input', p.input], ['output', p.output]] as const) {
      const rows = grid.length, cols = grid[0]?.length ?? 0;
      // gridToTokens writes EOS beside the grid, but a grid filling the canvas exactly still fits.
      if (rows > gridSize || cols > gridSize) {
        throw new FitError(`task "${task.id}": train[${i}].${field} is ${rows}×${cols}, larger than the model's ${gridSize}×${gridSize} canvas`,
          { path: `train[${i}].${field}`, rows, cols, gridSize });
      }
    }
    return { tokens: gridToTokens(p.input, gridSize), labels: gridToTokens(p.output, gridSize) };
  });
}

/**
 * The demonstrations of each augmented variant (upstream trains one row per variant): variant i's
 * train pairs through augmentGrid, tagged with row i, the last `holdOut` pairs of every variant
 * held out. Variant 0 first; the identity gives the task's own canvases.
 */
export function variantExamples(task: Task, variants: readonly Augmentation[], gridSize: number, holdOut = 0): { train: FitExample[]; heldOut: FitExample[] } {
  const train: FitExample[] = [], heldOut: FitExample[] = [];
  variants.forEach((aug, v) => {
    // A square canvas: transposed grids fit whenever the originals do, so errors name the task's own pairs.
    const pairs = task.train.map((p) => ({ input: augmentGrid(p.input, aug), output: augmentGrid(p.output, aug) }));
    const all = taskExamples({ ...task, train: pairs }, gridSize).map((e) => ({ ...e, variant: v }));
    train.push(...all.slice(0, all.length - holdOut));
    heldOut.push(...all.slice(all.length - holdOut));
  });
  return { train, heldOut };
}

/**
 * The starting rows as [K, W] (one row given: repeated for every variant) and how many
 * demonstrations train each row; every row needs one, its gradient is the mean over them.
 */
export function startRows(init: Float32Array, examples: FitExample[], W: number): { rows: Float32Array; counts: number[] } {
  const K = Math.max(1, ...examples.map((e) => (e.variant ?? 0) + 1));
  if (init.length !== W && init.length !== K * W) {
    throw new RangeError(`init row has ${init.length} values, expected puzzle_emb_ndim ${W}${K > 1 ? ` or ${K} variants × ${W}` : ''}`);
  }
  const rows = new Float32Array(K * W);
  for (let v = 0; v < K; v++) rows.set(init.length === W ? init : init.subarray(v * W, (v + 1) * W), v * W);
  const counts = new Array<number>(K).fill(0);
  examples.forEach((e, i) => {
    const v = e.variant ?? 0;
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`example ${i}: variant ${v} is not a row index`);
    counts[v]++;
  });
  const empty = counts.indexOf(0);
  if (empty >= 0) throw new FitError(`variant ${empty} has no demonstrations to fit its row on`);
  return { rows, counts };
}

/** Demonstrations run together in one session call, with their own carry. */
export interface Chunk {
  rows: number;
  tokens: Int32Array;
  labels: Int32Array;
  /** Each demonstration's row (variant) index. */
  variant: Int32Array;
  /** The carry after the previous ACT step, float32 [rows, S, D]; absent before the first. */
  zH?: Float32Array;
  zL?: Float32Array;
  /** ACT steps run since each row's last reset (0 = start from H_init/L_init). */
  act: Int32Array;
}

export const data = async (t: Tensor) => (await t.getData(true)) as Float32Array;

export function chunksOf(examples: FitExample[], N: number, maxBatch: number): Chunk[] {
  if (!examples.length) throw new FitError('no demonstrations to fit on');
  for (const [i, e] of examples.entries()) {
    if (e.tokens.length !== N || e.labels.length !== N) throw new RangeError(`example ${i}: canvases must have seq_len ${N} tokens`);
  }
  const chunks: Chunk[] = [];
  for (let i = 0; i < examples.length; i += maxBatch) {
    const part = examples.slice(i, i + maxBatch);
    const cat = (k: 'tokens' | 'labels') => { const a = new Int32Array(part.length * N); part.forEach((e, j) => a.set(e[k], j * N)); return a; };
    chunks.push({ rows: part.length, tokens: cat('tokens'), labels: cat('labels'), variant: Int32Array.from(part, (e) => e.variant ?? 0), act: new Int32Array(part.length) });
  }
  return chunks;
}

/** The puzzle input of a chunk, float32 [B, W]: each demonstration gets its own variant's row of `rows` [K, W]. */
export function chunkPuzzle(ch: Pick<Chunk, 'rows' | 'variant'>, rows: Float32Array, W: number): Float32Array {
  const puzzle = new Float32Array(ch.rows * W);
  for (let b = 0; b < ch.rows; b++) {
    if ((ch.variant[b] + 1) * W > rows.length) throw new RangeError(`demonstration of variant ${ch.variant[b]}: only ${rows.length / W} rows given`);
  }
  for (let b = 0; b < ch.rows; b++) puzzle.set(rows.subarray(ch.variant[b] * W, (ch.variant[b] + 1) * W), b * W);
  return puzzle;
}

/**
 * One ACT step of a chunk from its carry: H_cycles − 1 cycles through the block
 * graph, the last through fit_grad.onnx. Returns the loss, d loss / d row per
 * demonstration and the new (detached) carry.
 */
async function actStep(ort: OrtBinding, s: FitSessions, c: ModelConfig, ch: Chunk, rows: Float32Array, ctl: () => Promise<void>) {
  const B = ch.rows, W = c.puzzle_emb_ndim, N = c.seq_len, SD = (c.puzzle_emb_len + c.seq_len) * c.hidden_size;
  const dims = [B, c.puzzle_emb_len + c.seq_len, c.hidden_size];
  const puzzle = chunkPuzzle(ch, rows, W);
  const tokens = new ort.Tensor('int32', ch.tokens, [B, N]);
  const puzzleT = new ort.Tensor('float32', puzzle, [B, W]);
  await ctl();
  const emb = await s.embed.run({ tokens, puzzle: puzzleT });
  // Rows that halted (or never ran) restart from H_init/L_init.
  const zH = ch.zH ?? new Float32Array(B * SD), zL = ch.zL ?? new Float32Array(B * SD);
  const h0 = await data(emb.z_H), l0 = await data(emb.z_L);
  for (let b = 0; b < B; b++) {
    if (ch.act[b] !== 0) continue;
    zH.set(h0.subarray(b * SD, (b + 1) * SD), b * SD);
    zL.set(l0.subarray(b * SD, (b + 1) * SD), b * SD);
  }
  let h: Tensor = new ort.Tensor('float32', zH, dims), l: Tensor = new ort.Tensor('float32', zL, dims);
  for (let cyc = 0; cyc < c.H_cycles - 1; cyc++) {
    for (let k = 0; k < c.L_cycles; k++) { await ctl(); l = (await s.block.run({ state: l, inj_a: h, inj_b: emb.x })).out; }
    await ctl();
    h = (await s.block.run({ state: h, inj_a: l, inj_b: emb.zeros })).out;
  }
  await ctl();
  const r = await s.grad.run({ tokens, puzzle: puzzleT, z_H: h, z_L: l, labels: new ort.Tensor('int32', ch.labels, [B, N]) },
    ['loss', 'd_puzzle', 'correct', 'q_halt', 'z_H_out', 'z_L_out']);
  return {
    loss: (await data(r.loss))[0],
    dRow: await data(r.d_puzzle),
    correct: await data(r.correct),
    qHalt: await data(r.q_halt),
    zH: Float32Array.from(await data(r.z_H_out)),
    zL: Float32Array.from(await data(r.z_L_out)),
  };
}

/**
 * After one ACT step of a chunk: keep its (detached) carry and restart the rows that halt,
 * upstream's training-mode halting without exploration (q_halt > 0 or the step limit).
 * Returns how many rows were exactly right.
 */
export function advanceCarry(ch: Chunk, c: ModelConfig, r: { zH: Float32Array; zL: Float32Array; correct: Float32Array; qHalt: Float32Array }): number {
  ch.zH = r.zH;
  ch.zL = r.zL;
  let correct = 0;
  for (let b = 0; b < ch.rows; b++) {
    correct += r.correct[b];
    ch.act[b]++;
    if (ch.act[b] >= c.halt_max_steps || r.qHalt[b] > 0) ch.act[b] = 0;
  }
  return correct;
}

export async function fitPuzzleRow(ort: OrtBinding, s: FitSessions, o: FitOptions): Promise<FitResult> {
  const c = o.config, W = c.puzzle_emb_ndim;
  const lr = o.lr ?? 1e-2, optimizer = o.optimizer ?? 'adam';
  const chunks = chunksOf(o.examples, c.seq_len, o.maxBatch ?? 8);
  const { rows: row, counts } = startRows(o.init, o.examples, W);
  const m = new Float64Array(row.length), v = new Float64Array(row.length);
  const losses: number[] = [];
  const ctl = async () => { if (o.control) await o.control.checkpoint(); };

  for (let step = 0; step < o.steps; step++) {
    const grad = new Float64Array(row.length);
    let lossSum = 0, correct = 0;
    for (const ch of chunks) {
      const r = await actStep(ort, s, c, ch, row, ctl);
      lossSum += r.loss;
      // Each demonstration's gradient goes to its own variant's row.
      for (let b = 0; b < ch.rows; b++) for (let k = 0, at = ch.variant[b] * W; k < W; k++) grad[at + k] += r.dRow[b * W + k];
      correct += advanceCarry(ch, c, r);
    }
    // Each row: the mean over its own demonstrations, as upstream scales the summed loss by 1/batch size.
    const n = o.examples.length;
    for (let k = 0; k < row.length; k++) {
      const gk = grad[k] / counts[Math.floor(k / W)];
      if (optimizer === 'adam') {
        const b1 = 0.9, b2 = 0.999, t = step + 1;
        m[k] = b1 * m[k] + (1 - b1) * gk;
        v[k] = b2 * v[k] + (1 - b2) * gk * gk;
        row[k] -= (lr * (m[k] / (1 - b1 ** t))) / (Math.sqrt(v[k] / (1 - b2 ** t)) + 1e-8);
      } else {
        row[k] = row[k] * (1 - lr * (o.weightDecay ?? 0)) - lr * Math.sign(gk);
      }
    }
    losses.push(lossSum / n);
    await o.onProgress?.({ step: step + 1, steps: o.steps, loss: lossSum / n, correct, examples: n, row, batches: chunks.length });
  }
  return { row, losses };
}

/** Mean loss per demonstration of the first ACT step from H_init/L_init: comparable across rows. `rows` [K, W], by example variant. */
export async function demonstrationLoss(ort: OrtBinding, s: FitSessions, config: ModelConfig, examples: FitExample[], rows: Float32Array, maxBatch = 8): Promise<number> {
  let sum = 0;
  for (const ch of chunksOf(examples, config.seq_len, maxBatch)) sum += (await actStep(ort, s, config, ch, rows, async () => {})).loss;
  return sum / examples.length;
}

/**
 * Demonstrations solved exactly (every non-PAD label token) after the full halt_max_steps
 * recursion, each with its variant's row of `rows` [K, W] (in that variant's augmented frame).
 */
export async function exactMatches(ort: OrtBinding, s: TrmSessions, config: ModelConfig, examples: FitExample[], rows: Float32Array, maxBatch = 8, control?: RunControl): Promise<boolean[]> {
  const N = config.seq_len, W = config.puzzle_emb_ndim, out: boolean[] = [];
  for (let i = 0; i < examples.length; i += maxBatch) {
    const part = examples.slice(i, i + maxBatch), B = part.length;
    const tokens = new Int32Array(B * N);
    part.forEach((e, b) => tokens.set(e.tokens, b * N));
    const puzzle = chunkPuzzle({ rows: B, variant: Int32Array.from(part, (e) => e.variant ?? 0) }, rows, W);
    const { last } = await runRecursion(ort, s, { config, tokens, puzzle, batch: B, frames: 'act', control });
    part.forEach((e, b) => out.push(e.labels.every((t, j) => t === 0 || last.grid[b * N + j] === t)));
  }
  return out;
}
