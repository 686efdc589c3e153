/**
 * The inference worker: owns onnxruntime-web (the native WebGPU EP build, which also runs WASM;
 * ORT's own proxy worker cannot carry WebGPU buffers), the model cache and the one running solve.
 * Load, solve and dispose run strictly one after another (a promise queue), so session.run()
 * calls never overlap; pause / resume / step / cancel act immediately on the running solve.
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { ModelConfig, Precision } from '../model/manifest.ts';
import { ResilientStore } from '../model/cache.ts';
import { ModelSource } from '../model/loader.ts';
import { loadVariants } from '../model/puzzles.ts';
import { demonstrationLoss, type FitSessions } from '../fit/fit.ts';
import { checkFitRequest, DEFAULT_FIT_MAX_BATCH, initialRow, runFitJob, runFullFitJob, type FitCheckpoint } from '../fit/job.ts';
import { estimateFullFit, fullDemonstrationLoss, fullFitMemory, modelWeights, openFitFullSessions, tunedWeights, type FitFullSessions } from '../fit/fit-full.ts';
import { buildGraphsWithWeights, type NamedWeight, type TrmWeights } from '../convert/graphs.ts';
import { openFitSessions, releaseFitSessions } from '../fit/sessions.ts';
import { chooseBackend, fallbackChoice, probePlatform } from './backend.ts';
import { RunController } from './control.ts';
import { CancelledError, DeviceLostError, InvalidRequestError, ModelMismatchError, NoModelLoadedError, serializeError, SessionCreateError } from './errors.ts';
import type {
  BackendChoice, BackendName, FitCost, FitProgressEvent, FitRequest, FittedRows, LoadOptions, ModelInfo, Notice, Probe, ReplyValues, Request, RequestType, SolveRequest, SolveResult, WorkerEvent,
} from './protocol.ts';
import type { TrmSessions } from './recursion.ts';
import { openSessions, releaseSessions } from './sessions.ts';
import { solveTestInput } from './solve.ts';

const DEFAULT_MAX_VARIANTS = 8;

const post = (e: WorkerEvent, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(e, transfer);
const notice = (n: Notice) => post({ type: 'notice', notice: n });

ort.env.wasm.proxy = false;
ort.env.logLevel = 'error';

const store = new ResilientStore((reason) => notice({ kind: 'cache-unavailable', reason }));

interface Loaded {
  source: ModelSource;
  options: LoadOptions;
  choice: BackendChoice;
  /** Undefined only while sessions are being (re)created. */
  sessions: TrmSessions | undefined;
  loadMs: number;
  /** Fitting sessions (fp32 + fit_grad), opened on the first fit. */
  fit?: Promise<FitState>;
  /** Whole-network fitting (fit_full.onnx + the model's weights), opened on the first full fit or cost request. */
  fitFull?: Promise<FitFullState>;
  /** ms per full step measured by fit-cost, by number of trained demonstrations. */
  fullStepMs?: Map<number, number>;
  /** fp32 sessions of the last fine-tuned network a solve used, kept for repeated solves of that task. */
  tuned?: { key: string; backend: BackendName; sessions: Promise<TrmSessions> };
  /** The model's own weights (graph layout), read from its fp32 graphs for the first fine-tuned solve. */
  baseWeights?: Promise<NamedWeight[]>;
}

interface FitFullState {
  sessions: FitFullSessions;
  backend: BackendName;
  init: Float32Array;
}

interface FitState {
  sessions: FitSessions;
  backend: BackendName;
  /** The starting row (mean of the model's rows), computed once per model. */
  init: Float32Array;
}

let probed: Promise<Probe> | undefined;
let loaded: Loaded | undefined;
let running: RunController | undefined;
/** Set when the WebGPU device reports loss; the next solve moves to WASM first. */
let gpuLost: string | undefined;
/** Bumped by cancel: queued solves from before it are dropped unrun. */
let generation = 0;
let queue: Promise<unknown> = Promise.resolve();

const probe = () => (probed ??= probePlatform());
const available = (l: { source: ModelSource }) => Object.keys(l.source.manifest.graphs.block) as Precision[];

function serial<T>(job: () => Promise<T>): Promise<T> {
  const next = queue.then(job, job);
  queue = next.catch(() => undefined);
  return next;
}

async function createSessions(source: ModelSource, choice: BackendChoice, options: LoadOptions, onProgress?: (e: WorkerEvent) => void, id = 0): Promise<TrmSessions> {
  const g = source.manifest.graphs;
  const block = g.block[choice.precision]!;
  const files = await source.files([g.embed, block, g.readout], (progress) => onProgress?.({ type: 'progress', id, progress }));
  const webgpu = choice.backend === 'webgpu';
  if (webgpu && options.debug?.failWebGpu === 'session') throw new SessionCreateError('WebGPU session creation failed on purpose (debug.failWebGpu)');
  let sessions: TrmSessions;
  try {
    sessions = await openSessions(ort, source.manifest, async (path) => files.get(path)!, {
      precision: choice.precision,
      sessionOptions: { executionProviders: [choice.backend] },
      // The carry (x, z_H, z_L) stays on the GPU between calls; only readouts come back.
      keepOnDevice: webgpu,
    });
    // A backend that opens a graph but cannot run it (e.g. a missing GPU feature) fails here, during load.
    await warmUp(sessions, source.manifest.config);
  } catch (e) {
    throw new SessionCreateError(`cannot run the ${choice.precision} graphs on ${choice.backend}: ${(e as Error).message}`, { backend: choice.backend, precision: choice.precision });
  }
  if (webgpu) {
    const device = (await ort.env.webgpu.device) as unknown as { lost: Promise<{ message: string }>; destroy(): void };
    gpuLost = undefined;
    void device.lost.then((info) => { gpuLost = info.message || 'the GPU device was lost'; });
    if (options.debug?.failWebGpu === 'device-lost') device.destroy();
  }
  return sessions;
}

/**
 * One pass through each graph at batch 1 before reporting ready: the first run pays for WASM
 * tier-up and WebGPU shader compilation (seconds, measured), which belongs to loading, not to
 * the first frame of the user's solve.
 */
async function warmUp(s: TrmSessions, c: ModelConfig): Promise<void> {
  const emb = await s.embed.run({
    tokens: new ort.Tensor('int32', new Int32Array(c.seq_len), [1, c.seq_len]),
    puzzle: new ort.Tensor('float32', new Float32Array(c.puzzle_emb_ndim), [1, c.puzzle_emb_ndim]),
  });
  const { out } = await s.block.run({ state: emb.z_L, inj_a: emb.z_H, inj_b: emb.x });
  await s.readout.run({ z_H: out }, ['q_halt']);
  for (const t of [...Object.values(emb), out]) if (t.location === 'gpu-buffer') t.dispose();
}

async function release(sessions: TrmSessions | undefined) {
  // A lost device can make release throw; the sessions are unusable either way.
  if (sessions) await releaseSessions(sessions).catch(() => undefined);
}

async function releaseFit(l: Loaded | undefined) {
  const fit = l?.fit;
  if (!l || !fit) return;
  l.fit = undefined;
  const f = await fit.catch(() => undefined);
  if (f) await releaseFitSessions(f.sessions).catch(() => undefined);
}

async function releaseFitFull(l: Loaded | undefined) {
  const f = l?.fitFull;
  if (!l || !f) return;
  l.fitFull = undefined;
  const s = await f.catch(() => undefined);
  if (s) await s.sessions.full.release().catch(() => undefined);
}

async function releaseTuned(l: Loaded | undefined) {
  const t = l?.tuned;
  if (!l || !t) return;
  l.tuned = undefined;
  await release(await t.sessions.catch(() => undefined));
}

/** fp32 sessions of a fine-tuned network on `backend`; on WebGPU the carry stays on the device, as in createSessions. */
async function openTunedOn(c: ModelConfig, w: TrmWeights, backend: BackendName, keepOnDevice = false): Promise<TrmSessions> {
  const g = buildGraphsWithWeights(c, w);
  const base = { executionProviders: [backend] };
  const onDevice = (names: string[]) => (keepOnDevice && backend === 'webgpu'
    ? { ...base, preferredOutputLocation: Object.fromEntries(names.map((n) => [n, 'gpu-buffer' as const])) } : base);
  const embed = await ort.InferenceSession.create(g.embed, onDevice(['x', 'z_H', 'z_L', 'zeros']));
  const block = await ort.InferenceSession.create(g.block, onDevice(['out'])).catch(async (e) => { await embed.release(); throw e; });
  const readout = await ort.InferenceSession.create(g.readout, base).catch(async (e) => { await embed.release(); await block.release(); throw e; });
  return { embed, block, readout };
}

/** FNV-1a over the rows' and weights' bits: tells one fine-tuned network from another (a refit of the same task). */
function fingerprint(taskId: string, rows: Float32Array, weights: Record<string, Float32Array>): string {
  let h = 0x811c9dc5;
  const mix = (a: Float32Array) => {
    const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193);
  };
  mix(rows);
  for (const k of Object.keys(weights).sort()) mix(weights[k]);
  return `${taskId}:${(h >>> 0).toString(16)}`;
}

/**
 * fit_full.onnx and the model's weights (read back from the fp32 graphs). Like openFit:
 * WebGPU first when solving runs there (one dummy step, finite loss required), else WASM.
 */
async function openFitFull(l: Loaded): Promise<FitFullState> {
  const m = l.source.manifest;
  if (!m.graphs.gradFull) throw new ModelMismatchError(`model "${m.name}" has no whole-network fine-tuning graph (manifest graphs.gradFull); reconvert it with \`trm convert --grad\``, { field: 'graphs.gradFull' });
  if (!m.graphs.block.fp32) throw new ModelMismatchError(`model "${m.name}" has no fp32 block graph, which whole-network fitting needs`, { field: 'graphs.block.fp32' });
  const files = await l.source.files([m.graphs.embed, m.graphs.block.fp32, m.graphs.readout, m.graphs.gradFull]);
  const c = m.config;
  const open = async (backend: BackendName) => {
    const s = await openFitFullSessions(ort, m, async (p) => files.get(p)!, { executionProviders: [backend] });
    try {
      const dummy = { tokens: new Int32Array(c.seq_len), labels: new Int32Array(c.seq_len).fill(1) };
      const loss = await fullDemonstrationLoss(ort, s, c, [dummy], new Float32Array(c.puzzle_emb_ndim));
      if (!Number.isFinite(loss)) throw new Error(`the whole-network graph's loss is ${loss}`);
    } catch (e) {
      await s.full.release().catch(() => undefined);
      throw e;
    }
    return s;
  };
  let backend: BackendName = l.choice.backend === 'webgpu' && !gpuLost ? 'webgpu' : 'wasm';
  let sessions: FitFullSessions | undefined;
  if (backend === 'webgpu') {
    try {
      sessions = await open('webgpu');
    } catch (e) {
      backend = 'wasm';
      notice({ kind: 'fit-backend', backend, reason: `whole-network fitting runs on WASM: fit_full.onnx failed on WebGPU (${(e as Error).message})` });
    }
  }
  try {
    sessions ??= await open('wasm');
  } catch (e) {
    throw new SessionCreateError(`cannot run the whole-network fitting graph on wasm: ${(e as Error).message}`, { backend: 'wasm', precision: 'fp32' });
  }
  return { sessions, backend, init: await initialRow(m, (p) => l.source.file(p)) };
}

function fitFullOf(l: Loaded): Promise<FitFullState> {
  l.fitFull ??= openFitFull(l);
  l.fitFull.catch(() => { if (loaded === l) l.fitFull = undefined; }); // a failed open is retried next time
  return l.fitFull;
}

/**
 * The fitting sessions: the gradient graph exists in fp32 only, so embed/block/readout are
 * opened again in fp32 beside the solve sessions. On WebGPU the gradient graph is tried there
 * first (one dummy step, finite loss required), else it runs on WASM and a notice says why.
 */
async function openFit(l: Loaded): Promise<FitState> {
  const m = l.source.manifest;
  if (!m.graphs.grad) throw new ModelMismatchError(`model "${m.name}" has no gradient graph (manifest graphs.grad): it cannot fit rows; reconvert it with \`trm convert --grad\``, { field: 'graphs.grad' });
  if (!m.graphs.block.fp32) throw new ModelMismatchError(`model "${m.name}" has no fp32 block graph, which fitting needs`, { field: 'graphs.block.fp32' });
  const files = await l.source.files([m.graphs.embed, m.graphs.block.fp32, m.graphs.readout, m.graphs.grad]);
  const c = m.config;
  const open = async (backend: BackendName) => {
    const s = await openFitSessions(ort, m, async (p) => files.get(p)!, { executionProviders: [backend] });
    try {
      const dummy = { tokens: new Int32Array(c.seq_len), labels: new Int32Array(c.seq_len).fill(1) };
      const loss = await demonstrationLoss(ort, s, c, [dummy], new Float32Array(c.puzzle_emb_ndim));
      if (!Number.isFinite(loss)) throw new Error(`the gradient graph's loss is ${loss}`);
    } catch (e) {
      await releaseFitSessions(s).catch(() => undefined);
      throw e;
    }
    return s;
  };
  let backend: BackendName = l.choice.backend === 'webgpu' && !gpuLost ? 'webgpu' : 'wasm';
  let sessions: FitSessions | undefined;
  if (backend === 'webgpu') {
    try {
      sessions = await open('webgpu');
    } catch (e) {
      backend = 'wasm';
      notice({ kind: 'fit-backend', backend, reason: `fitting runs on WASM: the gradient graph failed on WebGPU (${(e as Error).message})` });
    }
  }
  try {
    sessions ??= await open('wasm');
  } catch (e) {
    throw new SessionCreateError(`cannot run the gradient graph on wasm: ${(e as Error).message}`, { backend: 'wasm', precision: 'fp32' });
  }
  return { sessions, backend, init: await initialRow(m, (p) => l.source.file(p)) };
}

/** Moves the model to WASM, keeping its files in memory (and cache), and tells the UI. */
async function fallBack(l: Loaded, why: string, id = 0): Promise<void> {
  const from = l.choice.backend;
  await release(l.sessions);
  await releaseFit(l); // reopened on WASM by the next fit
  await releaseFitFull(l);
  await releaseTuned(l);
  l.choice = fallbackChoice(await probe(), available(l), l.options.precision ?? 'auto', why);
  l.sessions = await createSessions(l.source, l.choice, l.options, post, id);
  notice({ kind: 'backend-fallback', from, to: 'wasm', reason: why });
  post({ type: 'backend', backend: l.choice });
}

async function load(id: number, url: string, options: LoadOptions): Promise<ModelInfo> {
  const t0 = performance.now();
  const previous = loaded;
  loaded = undefined;
  await release(previous?.sessions);
  await releaseFit(previous);
  await releaseFitFull(previous);
  await releaseTuned(previous);
  const source = await ModelSource.open(url, { store, onNotice: notice, revalidate: options.revalidate });
  const l: Loaded = {
    source, options, loadMs: 0,
    choice: chooseBackend(await probe(), available({ source }), options.backend, options.precision),
    sessions: undefined,
  };
  try {
    l.sessions = await createSessions(source, l.choice, options, post, id);
  } catch (e) {
    if (l.choice.backend !== 'webgpu') throw e;
    await fallBack(l, (e as Error).message, id);
  }
  l.loadMs = performance.now() - t0;
  loaded = l;
  const m = source.manifest;
  const cache = { store: store.kind, ...(await store.status()) };
  return {
    name: m.name, url, config: m.config, backend: l.choice, precisions: available(l),
    taskIds: Object.keys(m.puzzles.tasks), hasTable: !!m.puzzles.table, canFit: !!m.graphs.grad,
    canFitFull: !!m.graphs.grad && !!m.graphs.gradFull,
    cache, networkBytes: source.networkBytes, loadMs: l.loadMs,
  };
}

async function solve(id: number, req: SolveRequest, queuedAt: number): Promise<SolveResult> {
  if (queuedAt !== generation) throw new CancelledError('cancelled before it started');
  const l = loaded;
  if (!l) throw new NoModelLoadedError('no model is loaded: call load() first');
  const test = req.task?.test?.[req.testIndex];
  if (!test) throw new InvalidRequestError(`task ${req.task?.id} has no test input ${req.testIndex}`, { taskId: req.task?.id, testIndex: req.testIndex });
  const m = l.source.manifest;
  const { plan, puzzle } = await loadVariants(m, req.task, req.maxVariants ?? DEFAULT_MAX_VARIANTS, (path) => l.source.file(path), req.fitted);

  const weights = req.fitted?.weights;
  const tunedKey = weights ? fingerprint(req.task.id, req.fitted!.rows, weights) : undefined;
  // Another task, another fit or none: the cached fine-tuned sessions go.
  if (l.tuned && l.tuned.key !== tunedKey) await releaseTuned(l);
  let tunedW: TrmWeights | undefined;
  if (weights) {
    // The model's weights come from its fp32 graphs (no fit_full.onnx needed to solve). Checked
    // here, before any run: weights of another model are a bad request, not a reason to leave WebGPU.
    l.baseWeights ??= l.fitFull ? l.fitFull.then((f) => f.sessions.weights) : modelWeights(m, (p) => l.source.file(p));
    l.baseWeights.catch(() => { l.baseWeights = undefined; });
    tunedW = tunedWeightsOf(m.config, await l.baseWeights, weights);
  }

  const control = new RunController(req.startPaused ?? false, (state) => post({ type: 'state', state }));
  running = control;
  const attempt = async () => {
    if (l.choice.backend === 'webgpu' && gpuLost) await fallBack(l, `device lost: ${gpuLost}`);
    let sessions = l.sessions!, backend = l.choice;
    if (tunedW && tunedKey) {
      // Built once per fitted network (graphs with its weights, fp32); reused while solves of it repeat.
      if (!l.tuned || l.tuned.backend !== l.choice.backend) {
        await releaseTuned(l);
        const b = l.choice.backend;
        const opened = openTunedOn(m.config, tunedW, b, true);
        l.tuned = { key: tunedKey, backend: b, sessions: opened };
        opened.catch(() => { if (l.tuned?.sessions === opened) l.tuned = undefined; });
      }
      sessions = await l.tuned.sessions.catch((e: Error) => {
        throw new SessionCreateError(`cannot open the fine-tuned network's fp32 graphs on ${l.choice.backend}: ${e.message}`, { backend: l.choice.backend, precision: 'fp32' });
      });
      backend = { ...l.choice, precision: 'fp32', reason: `fine-tuned network (fp32 graphs built with the task's weights); ${l.choice.reason}` };
    }
    post({ type: 'started', id, variants: plan.variants, backend });
    post({ type: 'state', state: control.state });
    return solveTestInput(ort, sessions, {
      config: m.config, taskId: req.task.id, testIndex: req.testIndex, input: test.input,
      variants: plan.variants, puzzle, backend, steps: req.steps, stopAtHalt: req.stopAtHalt, control,
      onFrame: (f) => {
        // Fresh copies: the transfer list must not name one buffer twice, and ORT may reuse its own.
        const frame = { ...f, tokens: f.tokens.slice(), confidence: f.confidence.slice(), qHalt: f.qHalt.slice(), qContinue: f.qContinue.slice() };
        post({ type: 'frame', id, frame }, [frame.tokens.buffer, frame.confidence.buffer, frame.qHalt.buffer, frame.qContinue.buffer]);
      },
    });
  };
  try {
    try {
      return await attempt();
    } catch (e) {
      if (e instanceof CancelledError || l.choice.backend !== 'webgpu') throw e;
      const why = gpuLost ? `device lost: ${gpuLost}` : (e as Error).message;
      await fallBack(l, why);
      notice({ kind: 'solve-restarted', reason: `WebGPU failed mid-solve (${why}); restarted on WASM` });
      return await attempt();
    }
  } catch (e) {
    if (gpuLost && l.choice.backend === 'webgpu' && !(e instanceof CancelledError)) throw new DeviceLostError(`the GPU device was lost: ${gpuLost}`);
    throw e;
  } finally {
    running = undefined;
    post({ type: 'state', state: 'idle' });
  }
}

async function fit(id: number, req: FitRequest, queuedAt: number): Promise<FittedRows> {
  if (queuedAt !== generation) throw new CancelledError('cancelled before it started');
  const l = loaded;
  if (!l) throw new NoModelLoadedError('no model is loaded: call load() first');
  const control = new RunController(false, (state) => post({ type: 'state', state }));
  running = control;
  post({ type: 'state', state: control.state });
  // The last step's checkpoint (best rows, weights in full mode), and when it was taken.
  let last: { c: FitCheckpoint; at: number; pausedMs: number } | undefined;
  const onCheckpoint = (c: FitCheckpoint) => { last = { c, at: performance.now(), pausedMs: control.pausedMs }; };
  /** One run of the fit on whatever backend the fit sessions open on; `from` continues a failed run. */
  const attempt = async (mode: 'row' | 'full', from?: FitCheckpoint): Promise<{ backend: BackendName; result: Promise<FittedRows> }> => {
    const f = mode === 'full' ? await fitFullOf(l) : await fitOf(l);
    // A continued fit handles a cancel itself (it keeps the best rows so far).
    if (!from) await control.checkpoint();
    const lose = f.backend === 'webgpu' && l.options.debug?.failWebGpu === 'device-lost-mid-fit' ? await loseDeviceLater() : undefined;
    const onProgress = (progress: FitProgressEvent) => {
      post({ type: 'fit-progress', id, progress: { ...progress, backend: f.backend } });
      lose?.(); // debug: after the first step has run on WebGPU
    };
    const m = l.source.manifest;
    const result = mode === 'full'
      ? runFullFitJob(ort, (f as FitFullState).sessions, m, req, control, onProgress, {
        init: f.init, from, onCheckpoint,
        openTuned: (w) => openTunedOn(m.config, w, f.backend),
        releaseTuned: (s) => release(s),
      })
      : runFitJob(ort, (f as FitState).sessions, m, req, control, onProgress, { init: f.init, from, onCheckpoint });
    return { backend: f.backend, result };
  };
  try {
    // Bad fields and oversized grids are refused before the sessions are opened.
    const { mode, steps } = checkFitRequest(l.source.manifest, req);
    let backend: BackendName | undefined;
    try {
      const a = await attempt(mode);
      backend = a.backend;
      return await a.result;
    } catch (e) {
      // Only a fit that ran on WebGPU moves to WASM; an error there (or on WASM already) is the fit's own.
      if (e instanceof CancelledError || backend !== 'webgpu') throw e;
      const why = gpuLost ? `device lost: ${gpuLost}` : (e as Error).message;
      const t = performance.now();
      await fallBack(l, why);
      // The steps done so far are kept. Time from the last one to the failure counts, pauses do not; reopening
      // sessions (the fallback) does not, as the first run's opening does not.
      const from = last && { ...last.c, elapsedMs: last.c.elapsedMs + (t - last.at) - (control.pausedMs - last.pausedMs) };
      notice({
        kind: 'fit-restarted',
        reason: `WebGPU failed mid-fit (${why}); restarted on WASM ` + (from
          ? `after step ${from.step} of ${steps}, from the best ${mode === 'full' ? 'rows and weights' : 'rows'} so far (step ${from.bestStep}'s; Adam state reset)`
          : 'from scratch (no step had finished)'),
      });
      return await (await attempt(mode, from)).result;
    }
  } finally {
    running = undefined;
    post({ type: 'state', state: 'idle' });
  }
}

function fitOf(l: Loaded): Promise<FitState> {
  l.fit ??= openFit(l);
  l.fit.catch(() => { if (loaded === l) l.fit = undefined; }); // a failed open is retried next time
  return l.fit;
}

/**
 * debug.failWebGpu 'device-lost-mid-fit': destroys the real WebGPU device once, when first called
 * (after the first fitting step on WebGPU), so the next step fails as a lost device does.
 */
async function loseDeviceLater(): Promise<() => void> {
  const device = (await ort.env.webgpu.device) as unknown as { destroy(): void };
  let done = false;
  return () => { if (!done) { done = true; device.destroy(); } };
}

/** The sessions' weights with the fitted ones in place (graph layout → TrmWeights). */
function tunedWeightsOf(c: ModelConfig, base: NamedWeight[], weights: Record<string, Float32Array>): TrmWeights {
  try {
    return tunedWeights(c, base, weights);
  } catch (e) {
    throw new InvalidRequestError(`fitted weights do not fit model: ${(e as Error).message} (fitted for another model?)`, { field: 'fitted.weights' });
  }
}

/** Memory and one measured step of a whole-network fit of the task; the step's ms is cached per demonstration count. */
async function fitCost(req: FitRequest, queuedAt: number): Promise<FitCost> {
  if (queuedAt !== generation) throw new CancelledError('cancelled before it started');
  const l = loaded;
  if (!l) throw new NoModelLoadedError('no model is loaded: call load() first');
  const m = l.source.manifest;
  const { train, steps, lr, weightLr } = checkFitRequest(m, { ...req, mode: 'full' });
  const f = await fitFullOf(l);
  const mem = fullFitMemory(f.sessions.weights);
  l.fullStepMs ??= new Map();
  let ms = l.fullStepMs.get(train.length);
  if (ms === undefined) {
    const o = { config: m.config, examples: train, init: f.init, steps: 1, lr, weightLr, maxBatch: DEFAULT_FIT_MAX_BATCH };
    ms = (await estimateFullFit(ort, f.sessions, o)).msPerStep;
    // The first step pays for warm-up (about 5× a later one on the demo model); a short one is measured again.
    if (ms < 1000) ms = (await estimateFullFit(ort, f.sessions, o)).msPerStep;
    l.fullStepMs.set(train.length, ms);
  }
  return { ...mem, msPerStep: ms, steps, estimatedMs: ms * steps, backend: f.backend };
}

async function handle(r: Request): Promise<ReplyValues[RequestType]> {
  switch (r.type) {
    case 'probe': return probe();
    case 'load': return serial(() => load(r.id, r.url, r.options ?? {}));
    case 'solve': {
      const queuedAt = generation;
      return serial(() => solve(r.id, r.request, queuedAt));
    }
    case 'fit': {
      const queuedAt = generation;
      return serial(() => fit(r.id, r.request, queuedAt));
    }
    case 'fit-cost': {
      const queuedAt = generation;
      return serial(() => fitCost(r.request, queuedAt));
    }
    case 'pause': return running ? running.pause() : 'idle';
    case 'resume': return running ? running.resume() : 'idle';
    case 'step': return running ? running.step() : 'idle';
    case 'cancel':
      generation++;
      running?.cancel();
      return 'idle';
    case 'cache-status': return { store: store.kind, ...(await store.status()) };
    case 'clear-cache': return store.clear();
    case 'dispose':
      return serial(async () => {
        await release(loaded?.sessions);
        await releaseFit(loaded);
        await releaseFitFull(loaded);
        await releaseTuned(loaded);
        loaded = undefined;
        return null;
      });
    default:
      throw new InvalidRequestError(`unknown request type ${JSON.stringify((r as { type: unknown }).type)}`);
  }
}

// Multi-threaded WASM (cross-origin isolated, ≥ 3 cores) starts ORT's pthreads from this same
// chunk, named "em-pthread": taking over their onmessage would leave session creation hanging.
if (!self.name.startsWith('em-pthread')) {
  self.onmessage = (e: MessageEvent<Request>) => {
    const r = e.data;
    handle(r).then(
      (value) => post({ type: 'reply', id: r.id, value }),
      (error) => post({ type: 'error', id: r.id, error: serializeError(error) }),
    );
  };
}
