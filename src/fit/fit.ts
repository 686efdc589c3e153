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
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
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
  /** The row after this step's update (the loop's own buffer: copy it to keep it). */
  row: Float32Array;
  /** Session calls per step (demonstrations are chunked by maxBatch). */
  batches: number;
}

export interface FitOptions {
  config: ModelConfig;
  examples: FitExample[];
  /** Starting row float32 [puzzle_emb_ndim] (upstream: the table's mean row). */
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

/** Demonstrations run together in one session call, with their own carry. */
export interface Chunk {
  rows: number;
  tokens: Int32Array;
  labels: Int32Array;
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
    chunks.push({ rows: part.length, tokens: cat('tokens'), labels: cat('labels'), act: new Int32Array(part.length) });
  }
  return chunks;
}

/**
 * One ACT step of a chunk from its carry: H_cycles − 1 cycles through the block
 * graph, the last through fit_grad.onnx. Returns the loss, d loss / d row per
 * demonstration and the new (detached) carry.
 */
async function actStep(ort: OrtBinding, s: FitSessions, c: ModelConfig, ch: Chunk, row: Float32Array, ctl: () => Promise<void>) {
  const B = ch.rows, W = c.puzzle_emb_ndim, N = c.seq_len, SD = (c.puzzle_emb_len + c.seq_len) * c.hidden_size;
  const dims = [B, c.puzzle_emb_len + c.seq_len, c.hidden_size];
  const puzzle = new Float32Array(B * W);
  for (let b = 0; b < B; b++) puzzle.set(row, b * W);
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
  if (o.init.length !== W) throw new RangeError(`init row has ${o.init.length} values, expected puzzle_emb_ndim ${W}`);
  const lr = o.lr ?? 1e-2, optimizer = o.optimizer ?? 'adam';
  const chunks = chunksOf(o.examples, c.seq_len, o.maxBatch ?? 8);
  const row = Float32Array.from(o.init);
  const m = new Float64Array(W), v = new Float64Array(W);
  const losses: number[] = [];
  const ctl = async () => { if (o.control) await o.control.checkpoint(); };

  for (let step = 0; step < o.steps; step++) {
    const grad = new Float64Array(W);
    let lossSum = 0, correct = 0;
    for (const ch of chunks) {
      const r = await actStep(ort, s, c, ch, row, ctl);
      lossSum += r.loss;
      for (let b = 0; b < ch.rows; b++) for (let k = 0; k < W; k++) grad[k] += r.dRow[b * W + k];
      correct += advanceCarry(ch, c, r);
    }
    // Mean over demonstrations, as upstream scales the summed loss by 1/batch size.
    const n = o.examples.length;
    for (let k = 0; k < W; k++) {
      const gk = grad[k] / n;
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

/** Mean loss per demonstration of the first ACT step from H_init/L_init: comparable across rows. */
export async function demonstrationLoss(ort: OrtBinding, s: FitSessions, config: ModelConfig, examples: FitExample[], row: Float32Array, maxBatch = 8): Promise<number> {
  let sum = 0;
  for (const ch of chunksOf(examples, config.seq_len, maxBatch)) sum += (await actStep(ort, s, config, ch, row, async () => {})).loss;
  return sum / examples.length;
}

/** Demonstrations solved exactly (every non-PAD label token) after the full halt_max_steps recursion. */
export async function exactMatches(ort: OrtBinding, s: TrmSessions, config: ModelConfig, examples: FitExample[], row: Float32Array, maxBatch = 8, control?: RunControl): Promise<boolean[]> {
  const N = config.seq_len, W = config.puzzle_emb_ndim, out: boolean[] = [];
  for (let i = 0; i < examples.length; i += maxBatch) {
    const part = examples.slice(i, i + maxBatch), B = part.length;
    const tokens = new Int32Array(B * N), puzzle = new Float32Array(B * W);
    part.forEach((e, b) => { tokens.set(e.tokens, b * N); puzzle.set(row, b * W); });
    const { last } = await runRecursion(ort, s, { config, tokens, puzzle, batch: B, frames: 'act', control });
    part.forEach((e, b) => out.push(e.labels.every((t, j) => t === 0 || last.grid[b * N + j] === t)));
  }
  return out;
}
