/**
 * One fit request end to end, as the worker runs it (and the Node tests, on the same code):
 * validate the request, refuse oversized grids, fit the row with progress and periodic
 * exact-match scoring, keep the best row, and on cancel hand back that best row (or nothing
 * when no step finished). onnxruntime-common only, like fit.ts.
 */
import type { Task } from '../arc/types.ts';
import { CancelledError, InvalidRequestError, TaskTooLargeError } from '../engine/errors.ts';
import type { FitProgressEvent, FitRequest, FittedRows } from '../engine/protocol.ts';
import type { OrtBinding, RunControl } from '../engine/recursion.ts';
import type { Manifest } from '../model/manifest.ts';
import { DEFAULT_FIT_STEPS, demonstrationLoss, exactMatches, FitError, fitPuzzleRow, startRows, taskExamples, variantExamples, type FitExample, type FitSessions } from './fit.ts';
import { fitFullNetwork, FULL_FIT_WEIGHT_LR, fullDemonstrationLoss, tunedWeights, type FitFullSessions } from './fit-full.ts';
import { fitVariants, MAX_FIT_VARIANTS } from './overlay.ts';
import type { TrmSessions } from '../engine/recursion.ts';

/**
 * Demonstrations per session call. Activations of the gradient graph grow with batch ×
 * (seq_len + puzzle_emb_len); 8 canvases of 30×30 at hidden 512 stay in the tens of MB.
 */
export const DEFAULT_FIT_MAX_BATCH = 8;
/** Only tables up to this size are averaged for the starting row; larger ones (ARC-AGI-2: 2.4 GB) are not read. */
const MAX_TABLE_BYTES_FOR_MEAN = 64 << 20;

export interface FitJobOptions {
  /** Starting row (every variant) or rows [K, W]; default: initialRow() when readFile is given, else zeros. */
  init?: Float32Array;
  readFile?: (path: string) => Promise<Uint8Array>;
  maxBatch?: number;
  /** After every step: where a restart would continue from (the worker keeps the last one in case WebGPU fails). */
  onCheckpoint?: (c: FitCheckpoint) => void;
  /**
   * Continue a fit that stopped after `from.step` steps (its backend failed): start at its best
   * snapshot, run the remaining steps numbered from.step + 1 .. steps, and report loss_before,
   * elapsed time and best_step across both runs. Adam's moments start afresh (they are not kept).
   */
  from?: FitCheckpoint;
}

/** A fit's state after a step, enough to continue it on another backend (FitJobOptions.from). */
export interface FitCheckpoint {
  /** Steps completed. */
  step: number;
  /** The best snapshot so far (what a cancel now would return), [K, W] … */
  rows: Float32Array;
  /** … with its weights in mode 'full'. */
  weights?: Record<string, Float32Array>;
  /** The step that produced that snapshot (0 = the starting rows). */
  bestStep: number;
  /** Fresh-carry loss of the starting rows, before the first step. */
  lossBefore: number;
  /** Paused time left out. */
  elapsedMs: number;
}

const count = (a: boolean[]) => a.filter(Boolean).length;

/**
 * Upstream starts a new row at the trained table's mean row (trm-reference.md §7.1). The
 * mean of the rows the model ships stands in: its per-task rows files, else a small table,
 * else zeros.
 */
export async function initialRow(manifest: Manifest, readFile: (path: string) => Promise<Uint8Array>): Promise<Float32Array> {
  const W = manifest.config.puzzle_emb_ndim, sum = new Float64Array(W);
  const tasks = Object.values(manifest.puzzles.tasks).map((t) => t.path);
  const table = manifest.puzzles.table;
  const tableBytes = table ? manifest.files.find((f) => f.path === table.path)?.bytes ?? Infinity : Infinity;
  const paths = tasks.length ? tasks : table && tableBytes <= MAX_TABLE_BYTES_FOR_MEAN ? [table.path] : [];
  let rows = 0;
  for (const p of paths) {
    const bytes = await readFile(p);
    // Copy: the file's byte offset need not be 4-aligned.
    const a = new Float32Array(bytes.slice().buffer, 0, Math.floor(bytes.byteLength / 4));
    for (let i = 0; i < a.length; i++) sum[i % W] += a[i];
    rows += Math.floor(a.length / W);
  }
  return Float32Array.from(sum, (v) => (rows ? v / rows : 0));
}

/** The starting rows [K, W]: options.init (one row or K), else the model's mean row, else zeros, for every variant. */
async function startingRows(manifest: Manifest, options: FitJobOptions, train: FitExample[]): Promise<Float32Array> {
  const W = manifest.config.puzzle_emb_ndim;
  const init = options.init ?? (options.readFile ? await initialRow(manifest, options.readFile) : new Float32Array(W));
  return startRows(init, train, W).rows;
}

const positiveInt = (v: unknown, name: string, dflt: number, min = 1): number => {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InvalidRequestError(`fit: ${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, { field: name });
  return v;
};

/** Grids of the task that exceed the canvas, train first, as fields the UI can point at. */
function checkCanvas(task: Task, gridSize: number): void {
  try {
    taskExamples(task, gridSize);
  } catch (e) {
    if (e instanceof FitError && e.field) throw new TaskTooLargeError(e.message, { taskId: task.id, ...e.field, field: e.field.path });
    if (e instanceof FitError) throw new InvalidRequestError(e.message, { taskId: task.id });
    throw e;
  }
  // The fitted row is for solving the test inputs: refuse those too, before any work.
  task.test?.forEach((t, i) => {
    const rows = t.input.length, cols = t.input[0]?.length ?? 0;
    if (rows > gridSize || cols > gridSize) {
      throw new TaskTooLargeError(`task "${task.id}": test[${i}].input is ${rows}×${cols}, larger than the model's ${gridSize}×${gridSize} canvas`,
        { taskId: task.id, field: `test[${i}].input`, rows, cols, gridSize });
    }
  });
}

/** The request's fields with defaults, and its demonstrations split; throws the engine's named errors before any work. */
export function checkFitRequest(manifest: Manifest, request: FitRequest) {
  const c = manifest.config, task = request?.task;
  const mode = request?.mode ?? 'row';
  if (mode !== 'row' && mode !== 'full') throw new InvalidRequestError(`fit: mode must be "row" or "full", got ${JSON.stringify(request.mode)}`, { field: 'mode' });
  if (mode === 'full' && !manifest.graphs.gradFull) {
    throw new InvalidRequestError(`fit: mode "full" (whole-network fine-tuning) is not available for this model: it has no fit_full.onnx (manifest graphs.gradFull); ` +
      'reconvert it with `trm convert --grad`', { field: 'mode' });
  }
  if (!task || !Array.isArray(task.train)) throw new InvalidRequestError('fit: request.task must be a task with train pairs', { field: 'task' });
  const steps = positiveInt(request.steps, 'steps', DEFAULT_FIT_STEPS);
  const evalEvery = positiveInt(request.evalEvery, 'evalEvery', 10);
  const holdOut = positiveInt(request.holdOut, 'holdOut', 0, 0);
  const lr = request.lr ?? 1e-2;
  if (typeof lr !== 'number' || !(lr > 0) || !Number.isFinite(lr)) throw new InvalidRequestError(`fit: lr must be a positive number, got ${JSON.stringify(request.lr)}`, { field: 'lr' });
  const optimizer = request.optimizer ?? 'adam';
  if (optimizer !== 'adam' && optimizer !== 'sign') throw new InvalidRequestError(`fit: optimizer must be "adam" or "sign", got ${JSON.stringify(optimizer)}`, { field: 'optimizer' });
  if (mode === 'full' && optimizer !== 'adam') throw new InvalidRequestError('fit: mode "full" uses Adam only (no sign-SGD for the weights)', { field: 'optimizer' });
  const weightLr = request.weightLr ?? FULL_FIT_WEIGHT_LR;
  if (typeof weightLr !== 'number' || !(weightLr > 0) || !Number.isFinite(weightLr)) {
    throw new InvalidRequestError(`fit: weightLr must be a positive number, got ${JSON.stringify(request.weightLr)}`, { field: 'weightLr' });
  }
  const K: unknown = request.variants === undefined ? 1 : request.variants;
  if (typeof K !== 'number' || !Number.isInteger(K) || K < 1 || K > MAX_FIT_VARIANTS) {
    throw new InvalidRequestError(`fit: variants must be an integer 1..${MAX_FIT_VARIANTS} (the identity and up to 7 more dihedral transforms), got ${JSON.stringify(request.variants)}`, { field: 'variants' });
  }
  checkCanvas(task, c.grid_size);
  const all = taskExamples(task, c.grid_size);
  if (holdOut >= all.length) {
    throw new InvalidRequestError(`fit: holdOut ${holdOut} leaves no demonstrations to fit on (task "${task.id}" has ${all.length})`, { field: 'holdOut', taskId: task.id });
  }
  // One row per variant; every variant holds out the same demonstrations.
  const variants = fitVariants(task.id, K);
  const { train, heldOut } = variantExamples(task, variants, c.grid_size, holdOut);
  return { task, mode, steps, evalEvery, lr, weightLr, optimizer, variants, train, heldOut };
}

/**
 * Progress, scoring and best-so-far, shared by both modes (a snapshot S is the rows, plus the
 * weights in full mode). A step's loss measures the snapshot it started from (the previous
 * step's); once a snapshot has been scored, the train exact-match count decides, ties going to
 * the later one (its loss is the most recent and, with a falling curve, lowest).
 */
function fitTracker<S>(start: S, o: {
  steps: number; evalEvery: number; train: FitExample[]; heldOut: FitExample[]; maxBatch: number;
  control: RunControl; elapsed: () => number; onProgress: (p: FitProgressEvent) => void;
  /** Exact matches of the examples with a snapshot. */
  exact: (examples: FitExample[], snap: S, control?: RunControl) => Promise<number>;
  /** A continued fit (FitJobOptions.from): `start` came from step `startStep`, `stepsDone` steps ran before. */
  startStep?: number;
  stepsDone?: number;
  onCheckpoint?: (best: { snap: S; step: number }, done: number) => void;
}) {
  const first = { snap: start, step: o.startStep ?? 0 };
  let prev = first;
  let byLoss: { snap: S; step: number; loss: number } | undefined;
  let byScore: { snap: S; step: number; exact: number; heldOut?: number } | undefined;
  let done = o.stepsDone ?? 0;
  return {
    /** After each fitting step, with a copy of what it produced. */
    async step(p: { step: number; steps: number; loss: number; batches: number }, snap: S) {
      done = p.step;
      if (!byLoss || p.loss < byLoss.loss) byLoss = { ...prev, loss: p.loss };
      prev = { snap, step: p.step };
      const event: FitProgressEvent = {
        step: p.step, steps: p.steps, loss: p.loss, elapsedMs: 0,
        trainTotal: o.train.length, heldOutTotal: o.heldOut.length, batches: p.batches, maxBatch: o.maxBatch,
      };
      if (p.step % o.evalEvery === 0 || p.step === o.steps) {
        const exact = await o.exact(o.train, snap, o.control);
        const held = o.heldOut.length ? await o.exact(o.heldOut, snap, o.control) : undefined;
        event.trainCorrect = exact;
        if (held !== undefined) event.heldOutCorrect = held;
        if (!byScore || exact >= byScore.exact) byScore = { snap, step: p.step, exact, heldOut: held };
      }
      event.elapsedMs = o.elapsed();
      o.onProgress(event);
      o.onCheckpoint?.(byScore ?? byLoss ?? first, done);
    },
    /** Runs the fit; a cancel after at least one step (of this run or the one it continues) ends it early (true) instead of throwing. */
    async run(fit: () => Promise<unknown>): Promise<boolean> {
      try {
        await fit();
        return false;
      } catch (e) {
        if (!(e instanceof CancelledError) || done === 0) throw e;
        return true;
      }
    },
    get done() { return done; },
    /** The best snapshot and its exact matches (scored now, without the control, if no step was). */
    async best() {
      // The start alone: a continued fit cancelled before its first step.
      const b = byScore ?? byLoss ?? first;
      const trainExact = byScore ? byScore.exact : await o.exact(o.train, b.snap);
      const heldExact = !o.heldOut.length ? undefined : byScore ? byScore.heldOut! : await o.exact(o.heldOut, b.snap);
      return { snap: b.snap, step: b.step, trainExact, heldExact };
    },
  };
}

export async function runFitJob(
  ort: OrtBinding,
  sessions: FitSessions,
  manifest: Manifest,
  request: FitRequest,
  control: RunControl & { pausedMs?: number },
  onProgress: (p: FitProgressEvent) => void,
  options: FitJobOptions = {},
): Promise<FittedRows> {
  const t0 = performance.now();
  const c = manifest.config;
  const { task, mode, steps, evalEvery, lr, optimizer, variants, train, heldOut } = checkFitRequest(manifest, request);
  if (mode !== 'row') throw new InvalidRequestError('fit: runFitJob fits rows only; whole-network requests go to runFullFitJob', { field: 'mode' });
  const maxBatch = options.maxBatch ?? DEFAULT_FIT_MAX_BATCH;
  const from = checkFrom(options.from, steps);
  const init = await startingRows(manifest, from ? { init: from.rows } : options, train);
  const pausedAtStart = control.pausedMs ?? 0;
  const elapsed = () => (from?.elapsedMs ?? 0) + performance.now() - t0 - ((control.pausedMs ?? 0) - (from ? pausedAtStart : 0));

  // A continued fit has its starting loss; its cancel is handled by tracker.run (best rows kept).
  if (!from) await control.checkpoint();
  const lossBefore = from ? from.lossBefore : await demonstrationLoss(ort, sessions, c, train, init, maxBatch);
  const tracker = fitTracker(Float32Array.from(init), {
    steps, evalEvery, train, heldOut, maxBatch, control, elapsed, onProgress,
    exact: async (examples, row, ctl) => count(await exactMatches(ort, sessions, c, examples, row, maxBatch, ctl)),
    startStep: from?.bestStep, stepsDone: from?.step,
    onCheckpoint: options.onCheckpoint && ((b, done) => options.onCheckpoint!({ step: done, rows: b.snap, bestStep: b.step, lossBefore, elapsedMs: elapsed() })),
  });
  const offset = from?.step ?? 0;
  const cancelled = await tracker.run(() => fitPuzzleRow(ort, sessions, {
    config: c, examples: train, init, steps: steps - offset, optimizer, lr, maxBatch, control,
    onProgress: (p) => tracker.step({ ...p, step: p.step + offset, steps }, Float32Array.from(p.row)),
  }));
  // Final figures for the stats, without the control: a cancelled fit still reports honestly.
  const best = await tracker.best();
  const lossAfter = await demonstrationLoss(ort, sessions, c, train, best.snap, maxBatch);
  return {
    taskId: task.id,
    model: manifest.name,
    variants,
    rows: best.snap,
    stats: {
      steps: tracker.done, variants: variants.length, optimizer, lr, loss_before: lossBefore, loss_after: lossAfter,
      train_exact: best.trainExact, train_total: train.length,
      ...(heldOut.length ? { held_out_exact: best.heldExact, held_out_total: heldOut.length } : {}),
      mode: 'row', ms: elapsed(), best_step: best.step, ...(cancelled ? { cancelled: true } : {}),
    },
  };
}

/** options.from, checked against the request. All steps done is allowed: the run failed while scoring, which is all that is left. */
function checkFrom(from: FitCheckpoint | undefined, steps: number): FitCheckpoint | undefined {
  if (!from) return undefined;
  if (!Number.isInteger(from.step) || from.step < 0 || from.step > steps) {
    throw new InvalidRequestError(`fit: a continued fit must have 0..${steps} steps done, got ${JSON.stringify(from.step)}`, { field: 'from.step' });
  }
  return from;
}

export interface FullFitJobOptions extends FitJobOptions {
  /**
   * Opens embed/block/readout sessions of a fine-tuned network (built at run time) for
   * exact-match scoring; the caller picks the backend. Released after each scoring.
   */
  openTuned: (w: ReturnType<typeof tunedWeights>) => Promise<TrmSessions>;
  releaseTuned: (s: TrmSessions) => Promise<void>;
}

const copyWeights = (w: Record<string, Float32Array>) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Float32Array.from(v)]));

/**
 * runFitJob for mode "full": every trained weight fine-tuned with the row (fitFullNetwork),
 * with the same progress, scoring and best-so-far semantics. A scoring step builds the
 * fine-tuned fp32 graphs and opens them (openTuned), so it costs more than in row mode.
 * The result carries the weights: its row is only valid with them.
 */
export async function runFullFitJob(
  ort: OrtBinding,
  full: FitFullSessions,
  manifest: Manifest,
  request: FitRequest,
  control: RunControl & { pausedMs?: number },
  onProgress: (p: FitProgressEvent) => void,
  options: FullFitJobOptions,
): Promise<FittedRows> {
  const t0 = performance.now();
  const c = manifest.config;
  const { task, mode, steps, evalEvery, lr, weightLr, variants, train, heldOut } = checkFitRequest(manifest, request);
  if (mode !== 'full') throw new InvalidRequestError('fit: runFullFitJob is for mode "full"', { field: 'mode' });
  const maxBatch = options.maxBatch ?? DEFAULT_FIT_MAX_BATCH;
  const from = checkFrom(options.from, steps);
  if (from && !from.weights) throw new InvalidRequestError('fit: a continued whole-network fit needs the checkpoint\'s weights', { field: 'from.weights' });
  const init = await startingRows(manifest, from ? { init: from.rows } : options, train);
  const pausedAtStart = control.pausedMs ?? 0;
  const elapsed = () => (from?.elapsedMs ?? 0) + performance.now() - t0 - ((control.pausedMs ?? 0) - (from ? pausedAtStart : 0));
  // A continued fit starts from the checkpoint's weights: fitFullNetwork and the scoring read them from full.weights.
  if (from) full = { ...full, weights: full.weights.map((t) => (t.trained ? { ...t, data: from.weights![t.name] ?? t.data } : t)) };
  const base = Object.fromEntries(full.weights.filter((t) => t.trained).map((t) => [t.name, t.data]));

  if (!from) await control.checkpoint();
  const lossBefore = from ? from.lossBefore : await fullDemonstrationLoss(ort, full, c, train, init, {}, maxBatch);
  type Snap = { row: Float32Array; weights: Record<string, Float32Array> };
  const tracker = fitTracker<Snap>({ row: Float32Array.from(init), weights: base }, {
    steps, evalEvery, train, heldOut, maxBatch, control, elapsed, onProgress,
    startStep: from?.bestStep, stepsDone: from?.step,
    onCheckpoint: options.onCheckpoint && ((b, done) => options.onCheckpoint!({ step: done, rows: b.snap.row, weights: b.snap.weights, bestStep: b.step, lossBefore, elapsedMs: elapsed() })),
    exact: async (examples, snap, ctl) => {
      const s = await options.openTuned(tunedWeights(c, full.weights, snap.weights));
      try {
        return count(await exactMatches(ort, s, c, examples, snap.row, maxBatch, ctl));
      } finally {
        await options.releaseTuned(s);
      }
    },
  });
  const offset = from?.step ?? 0;
  // Copies: fitFullNetwork updates its arrays in place.
  const cancelled = await tracker.run(() => fitFullNetwork(ort, full, {
    config: c, examples: train, init, steps: steps - offset, lr, weightLr, maxBatch, control,
    onProgress: (p) => tracker.step({ ...p, step: p.step + offset, steps }, { row: Float32Array.from(p.row), weights: copyWeights(p.weights) }),
  }));
  const best = await tracker.best();
  const lossAfter = await fullDemonstrationLoss(ort, full, c, train, best.snap.row, best.snap.weights, maxBatch);
  return {
    taskId: task.id,
    model: manifest.name,
    variants,
    rows: best.snap.row,
    // Step 0 (cancel right after the first step with a rising loss) keeps the model's own weights: copy them anyway, the caller owns the result.
    weights: best.snap.weights === base ? copyWeights(base) : best.snap.weights,
    stats: {
      steps: tracker.done, variants: variants.length, optimizer: 'adam', lr, weight_lr: weightLr, loss_before: lossBefore, loss_after: lossAfter,
      train_exact: best.trainExact, train_total: train.length,
      ...(heldOut.length ? { held_out_exact: best.heldExact, held_out_total: heldOut.length } : {}),
      mode: 'full', ms: elapsed(), best_step: best.step, ...(cancelled ? { cancelled: true } : {}),
    },
  };
}
