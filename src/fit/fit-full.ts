/**
 * Whole-network fine-tuning for one task (issue 9, "Adapting the whole
 * network"): Adam on every trained weight together with the puzzle row, kept
 * as a per-task overlay. Written against onnxruntime-common like fit.ts, and
 * with the same training semantics as fitPuzzleRow: one step = one ACT step
 * per demonstration from its own carry (deep supervision), the carry detached
 * between steps and restarted from H_init/L_init when the demonstration halts
 * (q_halt > 0 or halt_max_steps), gradients only through the last H-cycle,
 * demonstrations chunked by maxBatch with gradients summed, control checked
 * before every session call, progress after every step. With K augmented
 * variants (FitExample.variant) the weights are shared and there is one row
 * per variant, as in fitPuzzleRow.
 *
 * fit_full.onnx runs the whole ACT step (the no-gradient cycles need the
 * current weights, see buildFitFullGraph), so a step is one session call per
 * chunk. H_init/L_init are not trained: they only reach the last H-cycle
 * through the detached carry, so their gradient is zero upstream too.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { buildGraphsWithWeights, graphLayoutWeights, weightsFromGraphLayout, weightsFromModelGraphs, type NamedWeight, type TrmWeights } from '../convert/graphs.ts';
import type { OrtBinding, RunControl, TrmSessions } from '../engine/recursion.ts';
import { ModelFileError, type OrtSessionBinding } from '../engine/sessions.ts';
import type { Manifest, ModelConfig } from '../model/manifest.ts';
import { advanceCarry, chunkPuzzle, chunksOf, data, FitError, startRows, type Chunk, type FitExample, type FitProgress } from './fit.ts';

export interface FitFullSessions {
  /** fit_full.onnx (manifest graphs.gradFull). */
  full: InferenceSession;
  /** The model's weights in graph layout; the `trained` ones are fit_full.onnx's weight inputs. */
  weights: NamedWeight[];
}

export interface FitFullOptions {
  config: ModelConfig;
  examples: FitExample[];
  /** Starting rows float32 [K, puzzle_emb_ndim] (K variants share the weights), or one row for every variant (fit.ts startRows). */
  init: Float32Array;
  steps: number;
  /** Adam learning rate of the puzzle row (default 1e-2, as row mode). */
  lr?: number;
  /** Adam learning rate of the weights (default FULL_FIT_WEIGHT_LR). */
  weightLr?: number;
  /** Demonstrations per session call; more are run in chunks and their gradients summed. */
  maxBatch?: number;
  control?: RunControl;
  /** `weights` are the live parameter arrays (after this step's update): copy what must outlive the callback. */
  onProgress?: (p: FitProgress & { weights: Record<string, Float32Array> }) => void | Promise<void>;
}

export interface FitFullResult {
  /** float32 [K, puzzle_emb_ndim]. */
  row: Float32Array;
  /** The fine-tuned trained weights, graph layout, by name. */
  weights: Record<string, Float32Array>;
  /** Mean loss per demonstration, one per step. */
  losses: number[];
}

/**
 * Default Adam lr for the weights, chosen by held-out test accuracy, not by the demonstrations'
 * loss (which a higher lr lowers faster: on an earlier demo model, fresh-carry loss after 20 steps 0.828 / 0.556 / 0.394 at
 * 1e-4 / 3e-4 / 1e-3, while the tests get worse). `trm fit-bench --families learned --per-family 5
 * --variants 2`, 100 steps, on the demo model (bench/results/2026-11-28-fit*.md): pass@2 50% / 60% /
 * 60% and pass@1 36% / 42% / 48% at 1e-3 / 3e-4 / 1e-4; the previous demo model gave pass@2
 * 0.19 / 0.31 / 0.50 on 8 tasks.
 */
export const FULL_FIT_WEIGHT_LR = 1e-4;

/** Opens fit_full.onnx and reads the model's weights back from its fp32 forward graphs. */
export async function openFitFullSessions(
  ort: OrtSessionBinding,
  manifest: Manifest,
  readFile: (path: string) => Promise<Uint8Array>,
  sessionOptions?: InferenceSession.SessionOptions,
): Promise<FitFullSessions> {
  const path = manifest.graphs.gradFull;
  if (!path) {
    throw new ModelFileError(`model "${manifest.name}" has no whole-network fine-tuning graph (manifest graphs.gradFull); ` +
      'reconvert it with `trm convert --grad` (written for models up to 2M trained weights)');
  }
  const weights = await modelWeights(manifest, readFile);
  return { full: await ort.InferenceSession.create(await readFile(path), sessionOptions), weights };
}

/** The model's weights in graph layout, from embed.onnx, block_fp32.onnx and readout.onnx. */
export async function modelWeights(manifest: Manifest, readFile: (path: string) => Promise<Uint8Array>): Promise<NamedWeight[]> {
  const block = manifest.graphs.block.fp32;
  if (!block) throw new ModelFileError(`model "${manifest.name}" has no fp32 block graph to read its weights from`);
  const c = manifest.config;
  return graphLayoutWeights(c, weightsFromModelGraphs(c, {
    embed: await readFile(manifest.graphs.embed), block: await readFile(block), readout: await readFile(manifest.graphs.readout),
  }));
}

/** The network with `fitted` tensors (graph layout, by name) replacing the model's own. */
export function tunedWeights(c: ModelConfig, base: NamedWeight[], fitted: Record<string, Float32Array>): TrmWeights {
  return weightsFromGraphLayout(c, (name, size) => {
    const a = fitted[name] ?? base.find((t) => t.name === name)?.data;
    if (!a) throw new FitError(`no weights named "${name}"`);
    if (a.length !== size) throw new FitError(`weights "${name}" have ${a.length} values, the model needs ${size}`);
    return a;
  });
}

/** fp32 embed/block/readout sessions of a fine-tuned network (built here, in the browser too). */
export async function openTunedSessions(ort: OrtSessionBinding, c: ModelConfig, w: TrmWeights, sessionOptions?: InferenceSession.SessionOptions): Promise<TrmSessions> {
  const g = buildGraphsWithWeights(c, w);
  const embed = await ort.InferenceSession.create(g.embed, sessionOptions);
  const block = await ort.InferenceSession.create(g.block, sessionOptions);
  const readout = await ort.InferenceSession.create(g.readout, sessionOptions);
  return { embed, block, readout };
}

export interface FullFitCost {
  /** Trained weights (numbers). */
  weights: number;
  weightBytes: number;
  /** Adam's two moments, float32. */
  optimizerBytes: number;
  /** One step's summed gradients, float32. */
  gradientBytes: number;
  /** Measured wall time of one step (one ACT step of every demonstration, update included). */
  msPerStep: number;
  steps: number;
  estimatedMs: number;
}

/** Memory of a whole-network fit, before any run. */
export function fullFitMemory(weights: NamedWeight[]): Omit<FullFitCost, 'msPerStep' | 'steps' | 'estimatedMs'> {
  const n = weights.filter((t) => t.trained).reduce((a, t) => a + t.data.length, 0);
  return { weights: n, weightBytes: 4 * n, optimizerBytes: 8 * n, gradientBytes: 4 * n };
}

/** What the UI shows before starting: memory, and one measured step × steps. Changes nothing. */
export async function estimateFullFit(ort: OrtBinding, s: FitFullSessions, o: FitFullOptions): Promise<FullFitCost> {
  const t0 = performance.now();
  await fitFullNetwork(ort, s, { ...o, steps: 1, onProgress: undefined });
  const msPerStep = performance.now() - t0;
  return { ...fullFitMemory(s.weights), msPerStep, steps: o.steps, estimatedMs: msPerStep * o.steps };
}

/** One ACT step of a chunk through fit_full.onnx; resets halted rows' carry first. */
async function actStep(ort: OrtBinding, s: FitFullSessions, c: ModelConfig, ch: Chunk, rows: Float32Array, weightFeeds: Record<string, Tensor>, fetchGrads: boolean) {
  const B = ch.rows, W = c.puzzle_emb_ndim, N = c.seq_len, S = c.puzzle_emb_len + c.seq_len, D = c.hidden_size;
  const init = (name: string) => s.weights.find((t) => t.name === name)!.data;
  const hInit = init('H_init'), lInit = init('L_init');
  const zH = ch.zH ??= new Float32Array(B * S * D), zL = ch.zL ??= new Float32Array(B * S * D);
  for (let b = 0; b < B; b++) {
    if (ch.act[b] !== 0) continue;
    for (let p = 0; p < S; p++) { zH.set(hInit, (b * S + p) * D); zL.set(lInit, (b * S + p) * D); }
  }
  const puzzle = chunkPuzzle(ch, rows, W);
  const dims = [B, S, D];
  const trained = s.weights.filter((t) => t.trained);
  const r = await s.full.run({
    tokens: new ort.Tensor('int32', ch.tokens, [B, N]),
    puzzle: new ort.Tensor('float32', puzzle, [B, W]),
    z_H: new ort.Tensor('float32', zH, dims),
    z_L: new ort.Tensor('float32', zL, dims),
    labels: new ort.Tensor('int32', ch.labels, [B, N]),
    ...weightFeeds,
  }, ['loss', 'correct', 'q_halt', 'z_H_out', 'z_L_out', ...(fetchGrads ? ['d_puzzle', ...trained.map((t) => `d_${t.name}`)] : [])]);
  return {
    loss: (await data(r.loss))[0],
    correct: await data(r.correct),
    qHalt: await data(r.q_halt),
    zH: Float32Array.from(await data(r.z_H_out)),
    zL: Float32Array.from(await data(r.z_L_out)),
    dRow: fetchGrads ? await data(r.d_puzzle) : undefined,
    dW: fetchGrads ? await Promise.all(trained.map((t) => data(r[`d_${t.name}`]))) : undefined,
  };
}

/** Adam (β 0.9/0.999, ε 1e-8) in place; moments float32 to keep memory at 3× the weights. */
function adam(p: Float32Array, g: Float32Array | Float64Array, m: Float32Array, v: Float32Array, lr: number, t: number, scale: number) {
  const b1 = 0.9, b2 = 0.999, c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
  for (let k = 0; k < p.length; k++) {
    const gk = g[k] * scale;
    m[k] = b1 * m[k] + (1 - b1) * gk;
    v[k] = b2 * v[k] + (1 - b2) * gk * gk;
    p[k] -= (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + 1e-8);
  }
}

export async function fitFullNetwork(ort: OrtBinding, s: FitFullSessions, o: FitFullOptions): Promise<FitFullResult> {
  const c = o.config, W = c.puzzle_emb_ndim;
  const lr = o.lr ?? 1e-2, weightLr = o.weightLr ?? FULL_FIT_WEIGHT_LR;
  const chunks = chunksOf(o.examples, c.seq_len, o.maxBatch ?? 8);
  const trained = s.weights.filter((t) => t.trained);
  const params = trained.map((t) => Float32Array.from(t.data));
  const mW = params.map((p) => new Float32Array(p.length)), vW = params.map((p) => new Float32Array(p.length));
  const { rows: row, counts } = startRows(o.init, o.examples, W);
  const mR = new Float32Array(row.length), vR = new Float32Array(row.length);
  const losses: number[] = [];
  const n = o.examples.length;

  for (let step = 0; step < o.steps; step++) {
    const feeds = Object.fromEntries(trained.map((t, i) => [t.name, new ort.Tensor('float32', params[i], t.dims)]));
    const gW = params.map((p) => new Float32Array(p.length)), gR = new Float64Array(row.length);
    let lossSum = 0, correct = 0;
    for (const ch of chunks) {
      if (o.control) await o.control.checkpoint();
      const r = await actStep(ort, s, c, ch, row, feeds, true);
      lossSum += r.loss;
      for (let b = 0; b < ch.rows; b++) for (let k = 0, at = ch.variant[b] * W; k < W; k++) gR[at + k] += r.dRow![b * W + k];
      r.dW!.forEach((d, i) => { const acc = gW[i]; for (let k = 0; k < acc.length; k++) acc[k] += d[k]; });
      correct += advanceCarry(ch, c, r);
    }
    // Mean over demonstrations, as upstream scales the summed loss by 1/batch size: each row over
    // its own variant's, the shared weights over all of them.
    counts.forEach((nv, v) => {
      const a = v * W, e = a + W;
      adam(row.subarray(a, e), gR.subarray(a, e), mR.subarray(a, e), vR.subarray(a, e), lr, step + 1, 1 / nv);
    });
    params.forEach((p, i) => adam(p, gW[i], mW[i], vW[i], weightLr, step + 1, 1 / n));
    losses.push(lossSum / n);
    if (o.onProgress) {
      const weights = Object.fromEntries(trained.map((t, i) => [t.name, params[i]]));
      await o.onProgress({ step: step + 1, steps: o.steps, loss: lossSum / n, correct, examples: n, row, batches: chunks.length, weights });
    }
  }
  return { row, weights: Object.fromEntries(trained.map((t, i) => [t.name, params[i]])), losses };
}

/** Mean loss per demonstration of the first ACT step from H_init/L_init, with the given rows [K, W] (by example variant) and weights. */
export async function fullDemonstrationLoss(ort: OrtBinding, s: FitFullSessions, c: ModelConfig, examples: FitExample[], row: Float32Array,
  weights: Record<string, Float32Array> = {}, maxBatch = 8): Promise<number> {
  const feeds = Object.fromEntries(s.weights.filter((t) => t.trained).map((t) => [t.name, new ort.Tensor('float32', weights[t.name] ?? t.data, t.dims)]));
  let sum = 0;
  for (const ch of chunksOf(examples, c.seq_len, maxBatch)) sum += (await actStep(ort, s, c, ch, row, feeds, false)).loss;
  return sum / examples.length;
}
