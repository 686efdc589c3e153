/**
 * The fit slice driven by a real engine: the demo model (models/demo, with fit_grad.onnx) on
 * onnxruntime-node through the worker's own fit path (runFitJob) and solve path (loadVariants
 * with fitted rows + solveTestInput), behind an in-process stand-in for the worker client.
 * Checks the streamed progress, the single put after the fit resolves, that Solve passes the
 * stored rows (and only for the model they were fitted on), restore after a "reload", cancel
 * before and after the first step, a refused write (quota) and refused tasks.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { heldOutSuite } from '../arc/generators/index.ts';
import type { Task } from '../arc/types.ts';
import type { SolveHandlers } from '../engine/client.ts';
import { RunController } from '../engine/control.ts';
import { readManifest } from '../engine/node-runtime.ts';
import type { BackendChoice, FitProgressEvent, FitRequest, FittedRows, ModelInfo, RunState, SolveRequest } from '../engine/protocol.ts';
import type { OrtBinding } from '../engine/recursion.ts';
import { solveTestInput } from '../engine/solve.ts';
import type { FitSessions } from '../fit/fit.ts';
import { runFitJob } from '../fit/job.ts';
import { openFitSessions, releaseFitSessions } from '../fit/sessions.ts';
import type { Manifest } from '../model/manifest.ts';
import { loadVariants } from '../model/puzzles.ts';
import {
  fitKey, fitProblem, fittedFor, fittedForModel, readFitted, startFitPersistence, type FitPersistence, type FittedRecord,
} from './fit.ts';
import { embeddingStatus, type SolverEngine } from './model.ts';
import { resultKey } from './solve.ts';
import { createAppStore } from './store.ts';

const MODEL_DIR = resolve(import.meta.dirname, '../../models/demo');
const BACKEND: BackendChoice = { backend: 'wasm', precision: 'fp32', reason: 'onnxruntime-node in tests', forced: true };
const ort = ortNode as unknown as OrtBinding;
/** A few steps keep each fit around a second on a busy CI core; the last step is always scored. */
const STEPS = 4;

/** The worker's fit and solve paths, in process: what TrmEngine does through postMessage. */
class InProcessEngine implements SolverEngine {
  fits: FitRequest[] = [];
  solves: SolveRequest[] = [];
  private controller: RunController | undefined;
  constructor(private readonly manifest: Manifest, private readonly s: FitSessions, private readonly name = manifest.name) {}

  private readonly read = async (p: string) => new Uint8Array(await readFile(join(MODEL_DIR, p)));

  async load(url: string): Promise<ModelInfo> {
    const c = this.manifest.config;
    return {
      name: this.name, url, config: c, backend: BACKEND, precisions: ['fp32'], taskIds: Object.keys(this.manifest.puzzles.tasks),
      hasTable: !!this.manifest.puzzles.table, canFit: true, cache: { store: 'memory', files: 0, bytes: 0 }, networkBytes: 0, loadMs: 0,
    };
  }

  async fit(req: FitRequest, h: { onProgress?: (e: FitProgressEvent) => void } = {}): Promise<FittedRows> {
    this.fits.push(req);
    this.controller = new RunController(false);
    // structuredClone: what crosses the worker boundary is a copy.
    return structuredClone(await runFitJob(ort, this.s, this.manifest, req, this.controller, (e) => h.onProgress?.(e), { readFile: this.read }));
  }

  async solve(req: SolveRequest, h: SolveHandlers = {}) {
    this.solves.push(req);
    const { plan, puzzle } = await loadVariants(this.manifest, req.task, req.maxVariants ?? 8, this.read, req.fitted);
    this.controller = new RunController(false);
    h.onStart?.(plan.variants, BACKEND);
    return solveTestInput(ort, this.s, {
      config: this.manifest.config, taskId: req.task.id, testIndex: req.testIndex, input: req.task.test[req.testIndex].input,
      variants: plan.variants, puzzle, backend: BACKEND, steps: 1, control: this.controller, onFrame: (f) => h.onFrameBatch?.(f),
    });
  }

  async pause(): Promise<RunState> { return this.controller?.pause() ?? 'idle'; }
  async resume(): Promise<RunState> { return this.controller?.resume() ?? 'idle'; }
  async step(): Promise<RunState> { return this.controller?.step() ?? 'idle'; }
  async cancel(): Promise<RunState> { this.controller?.cancel(); return 'idle'; }
  on(): () => void { return () => {}; }
}

/** Fitted-row persistence over a Map (structured clones, as IndexedDB stores), counting puts. */
function mapPersistence(map: Map<string, FittedRecord>, failPut?: () => Error) {
  const log: { puts: string[]; removes: string[] } = { puts: [], removes: [] };
  const p: FitPersistence = {
    loadAll: async () => [...map.entries()],
    put: async (k, r) => {
      log.puts.push(k);
      if (failPut) throw failPut();
      map.set(k, structuredClone(r));
    },
    remove: async (k) => { log.removes.push(k); map.delete(k); },
  };
  return { p, log };
}

// A task of a family the demo model learned, drawn with the held-out seed: the model has no row for it.
const TASK: Task = heldOutSuite({ perFamily: 1 }).find((t) => t.family === 'recolor')!.task;

let manifest: Manifest;
let sessions: FitSessions;
beforeAll(async () => {
  manifest = await readManifest(MODEL_DIR);
  sessions = await openFitSessions(ortNode, manifest, async (p) => new Uint8Array(await readFile(join(MODEL_DIR, p))), {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
  });
});
afterAll(async () => { if (sessions) await releaseFitSessions(sessions); });

function newStore(engine: InProcessEngine) {
  const store = createAppStore();
  store.getState().setEngine(engine);
  store.setState({ tasks: [TASK], selectedTaskId: TASK.id });
  store.getState().setSolveOptions({ variants: 2 });
  store.getState().setFitOptions({ steps: STEPS });
  return store;
}

describe('fit slice on the demo model', () => {
  test('a fit streams one update per step, stores the rows in one put after it resolves, and Solve uses them', async () => {
    expect(Object.keys(manifest.puzzles.tasks)).not.toContain(TASK.id);
    const stored = new Map<string, FittedRecord>();
    const { p, log } = mapPersistence(stored);
    const engine = new InProcessEngine(manifest, sessions);
    const store = newStore(engine);
    await startFitPersistence(store, p);
    const seen: number[] = [];
    let putsWhileRunning = 0;
    store.subscribe((s) => {
      if (s.fit.live?.status === 'running') {
        seen.push(s.fit.live.losses.length);
        putsWhileRunning = log.puts.length;
      }
    });
    const t0 = performance.now();
    const record = await store.getState().fitTask(TASK);
    const ms = performance.now() - t0;
    const s = store.getState();
    expect(s.model.status).toBe('ready'); // loaded on first use
    expect(engine.fits).toHaveLength(1);
    expect(engine.fits[0]).toMatchObject({ steps: STEPS, optimizer: 'adam', holdOut: 0 });
    expect(s.fit.live).toMatchObject({ status: 'done', taskId: TASK.id, steps: STEPS });
    // Every step arrived as its own store update, in order.
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: STEPS + 1 }, (_, i) => i)));
    expect(s.fit.live!.losses).toHaveLength(STEPS);
    expect(s.fit.live!.losses.every(Number.isFinite)).toBe(true);
    // The last step is always scored, so the panel has a demo accuracy to show.
    expect(s.fit.live!.scored?.step).toBe(STEPS);
    // Nothing was written while the fit ran; one put of the whole record once it resolved.
    expect(putsWhileRunning).toBe(0);
    expect(log.puts).toEqual([fitKey(manifest.name, TASK.id)]);
    expect(record).toBe(s.fit.fitted[fitKey(manifest.name, TASK.id)]);
    expect(record!.rows.length).toBe(manifest.config.puzzle_emb_ndim);
    expect(record!.losses).toEqual(s.fit.live!.losses);
    expect(record!.stats).toMatchObject({ steps: STEPS, train_total: TASK.train.length, mode: 'row' });
    console.log(`fit slice: ${STEPS} steps in ${ms.toFixed(0)} ms (${(ms / STEPS).toFixed(0)} ms/step incl. scoring); loss ${record!.stats.loss_before.toFixed(4)} → ${record!.stats.loss_after.toFixed(4)}, demo ${record!.stats.train_exact}/${record!.stats.train_total}`);
    expect(record!.stats.loss_after).toBeLessThan(record!.stats.loss_before);
    expect(fittedForModel(s.fit.fitted, manifest.name).map((r) => r.taskId)).toEqual([TASK.id]);

    // Solve passes the stored rows; the engine reports them as the fitted source.
    const result = await store.getState().solveInput(TASK, 0);
    expect(result, store.getState().solve.live?.error).not.toBeNull();
    expect(engine.solves.at(-1)!.fitted?.rows).toEqual(record!.rows);
    expect(store.getState().solve.live!.variants.map((v) => v.source)).toEqual(['fitted']);
    expect(store.getState().solve.results[resultKey(TASK.id, 0)].variants[0].source).toBe('fitted');

    // "Reload": a new store restores the record from storage and the next solve uses it.
    const engine2 = new InProcessEngine(manifest, sessions);
    const store2 = newStore(engine2);
    await startFitPersistence(store2, mapPersistence(stored).p);
    await store2.getState().loadModel('models/demo/manifest.json');
    const restored = fittedFor(store2.getState(), TASK.id)!;
    expect(restored.rows).toEqual(record!.rows);
    expect(restored.stats).toEqual(record!.stats);
    await store2.getState().solveInput(TASK, 0);
    expect(engine2.solves[0].fitted?.rows).toEqual(record!.rows);
    expect(store2.getState().solve.live!.variants[0].source).toBe('fitted');

    // Removing the row deletes the stored record; the next solve is back on the blank row.
    await store2.getState().removeFitted(manifest.name, TASK.id);
    expect(stored.size).toBe(0);
    await store2.getState().solveInput(TASK, 0);
    expect(engine2.solves[1].fitted).toBeUndefined();
    expect(store2.getState().solve.live!.variants[0].source).toBe('blank');
  });

  test('Variants 4: the request carries it, the record keeps 4 variants and their rows, Solve votes over them', async () => {
    const engine = new InProcessEngine(manifest, sessions);
    const store = newStore(engine);
    store.getState().setFitOptions({ variants: 4 });
    expect(store.getState().fit.options.variants).toBe(4);
    const record = await store.getState().fitTask(TASK);
    expect(engine.fits[0]).toMatchObject({ variants: 4 });
    expect(record!.variants.map((v) => v.tid)[0]).toBe(0);
    expect(record!.variants).toHaveLength(4);
    expect(record!.rows.length).toBe(4 * manifest.config.puzzle_emb_ndim);
    expect(record!.stats).toMatchObject({ variants: 4, train_total: 4 * TASK.train.length });
    // The solve options ask for 8 variants here: all 4 fitted ones run and vote.
    store.getState().setSolveOptions({ variants: 8 });
    await store.getState().solveInput(TASK, 0);
    expect(engine.solves.at(-1)!.fitted?.variants).toHaveLength(4);
    expect(store.getState().solve.live!.variants.map((v) => v.source)).toEqual(['fitted', 'fitted', 'fitted', 'fitted']);
    // Out-of-range choices are clamped to 1..8.
    store.getState().setFitOptions({ variants: 20 });
    expect(store.getState().fit.options.variants).toBe(8);
  });

  test('rows fitted for another model are not used for this one', async () => {
    const stored = new Map<string, FittedRecord>();
    const engine = new InProcessEngine(manifest, sessions);
    const store = newStore(engine);
    await startFitPersistence(store, mapPersistence(stored).p);
    await store.getState().fitTask(TASK);
    expect(stored.size).toBe(1);
    // Same files, another manifest name: a different model as far as fitted rows go.
    const other = new InProcessEngine(manifest, sessions, 'another-model');
    const store2 = newStore(other);
    await startFitPersistence(store2, mapPersistence(stored).p);
    await store2.getState().solveInput(TASK, 0);
    expect(fittedFor(store2.getState(), TASK.id)).toBeUndefined();
    expect(other.solves[0].fitted).toBeUndefined();
    expect(store2.getState().solve.live!.variants[0].source).toBe('blank');
  });

  test('cancel after a step keeps the best rows so far; cancel before any step stores nothing and keeps the old rows', async () => {
    const stored = new Map<string, FittedRecord>();
    const { p, log } = mapPersistence(stored);
    const engine = new InProcessEngine(manifest, sessions);
    const store = newStore(engine);
    await startFitPersistence(store, p);
    store.getState().setFitOptions({ steps: 50 });
    const unsub = store.subscribe((s) => { if (s.fit.live?.status === 'running' && s.fit.live.losses.length === 2) void s.cancelFit(); });
    const record = await store.getState().fitTask(TASK);
    unsub();
    let s = store.getState();
    expect(s.fit.live?.status).toBe('cancelled');
    expect(s.fit.live?.message).toMatch(/best row so far/);
    expect(record!.stats.cancelled).toBe(true);
    expect(record!.stats.steps).toBeGreaterThanOrEqual(2);
    expect(record!.stats.steps).toBeLessThan(50);
    expect(log.puts).toHaveLength(1);
    expect(stored.get(fitKey(manifest.name, TASK.id))!.stats.cancelled).toBe(true);

    // A refit cancelled before its first step: CancelledError, no write, the earlier rows stay.
    const unsub2 = store.subscribe((st) => {
      if (st.fit.live?.status === 'running' && st.fit.live.losses.length === 0) setTimeout(() => void st.cancelFit(), 0);
    });
    const none = await store.getState().fitTask(TASK);
    unsub2();
    s = store.getState();
    expect(none).toBeNull();
    expect(s.fit.live).toMatchObject({ status: 'cancelled', losses: [] });
    expect(s.fit.live?.message).toMatch(/nothing was stored/);
    expect(log.puts).toHaveLength(1);
    expect(s.fit.fitted[fitKey(manifest.name, TASK.id)]).toBe(record);
  });

  test('a refused write (quota) keeps the rows in memory, says so, and Solve still uses them', async () => {
    const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const { p, log } = mapPersistence(new Map(), quota);
    const engine = new InProcessEngine(manifest, sessions);
    const store = newStore(engine);
    await startFitPersistence(store, p);
    store.getState().setFitOptions({ steps: 1 });
    const record = await store.getState().fitTask(TASK);
    const s = store.getState();
    const key = fitKey(manifest.name, TASK.id);
    expect(log.puts).toEqual([key]);
    expect(record).not.toBeNull();
    expect(s.fit.fitted[key]).toBe(record);
    expect(s.fit.unsaved[key]).toMatch(/QuotaExceededError: The quota has been exceeded.*used in this page/);
    expect(s.fit.live).toMatchObject({ status: 'done' });
    expect(s.fit.live?.message).toMatch(/Not saved/);
    await store.getState().solveInput(TASK, 0);
    expect(engine.solves[0].fitted?.rows).toEqual(record!.rows);
  });

  test('a task larger than the canvas is refused with its size, before the engine is asked', async () => {
    const engine = new InProcessEngine(manifest, sessions);
    const store = newStore(engine);
    const side = manifest.config.grid_size;
    const big: Task = { id: 'big', train: [{ input: [[1]], output: Array.from({ length: side + 2 }, () => new Array(3).fill(2)) }], test: [{ input: [[1]] }] };
    expect(await store.getState().fitTask(big)).toBeNull();
    const s = store.getState();
    expect(s.fit.live).toMatchObject({ status: 'error', taskId: 'big' });
    expect(s.fit.live?.message).toBe(`task "big": train[0].output is ${side + 2}×3, larger than the model's ${side}×${side} canvas`);
    expect(engine.fits).toHaveLength(0);
    // The engine's own check says the same for what the slice lets through (a test input too big).
    const bigTest: Task = { ...TASK, id: 'big-test', test: [{ input: Array.from({ length: side + 1 }, () => [1]) }] };
    expect(await store.getState().fitTask(bigTest)).toBeNull();
    expect(store.getState().fit.live?.message).toContain(`test[0].input is ${side + 1}×1, larger than the model's ${side}×${side} canvas`);
  });
});

test('the banner status: stored fitted rows win; a solve that ran on since-removed fitted rows says nothing', () => {
  const info = { taskIds: ['known'], hasTable: false } as unknown as ModelInfo;
  expect(embeddingStatus(info, 'new', 'blank', true)).toBe('fitted');
  expect(embeddingStatus(info, 'new', 'fitted', false)).toBe('untrained');
  expect(embeddingStatus(info, 'new', 'blank', false)).toBe('untrained');
  expect(embeddingStatus(info, 'known', undefined, false)).toBe('trained');
});

test('fitProblem names what stops a fit: no gradient graph, no demonstrations', () => {
  const info = { name: 'm', canFit: false, config: { grid_size: 10 } } as ModelInfo;
  expect(fitProblem(TASK, info)).toMatch(/model "m" has no gradient graph \(fit_grad\.onnx\).*trm convert --grad/);
  expect(fitProblem({ ...TASK, train: [] }, { ...info, canFit: true })).toBe(`task "${TASK.id}" has no demonstrations to fit on`);
  expect(fitProblem(TASK, { ...info, canFit: true })).toBeNull();
  expect(fitProblem(TASK, null)).toBeNull();
});

test('readFitted keeps only records that look like fitted rows under their own key', () => {
  const good: FittedRecord = {
    model: 'm', taskId: 't', variants: [{ name: 't', tid: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], row: 0 }], rows: new Float32Array(4),
    stats: { steps: 3, optimizer: 'adam', lr: 0.01, loss_before: 2, loss_after: 1, train_exact: 1, train_total: 2, mode: 'row', ms: 5, best_step: 3 },
    losses: [2, 1.5, 1], fittedAt: 0,
  };
  const k = fitKey('m', 't');
  const out = readFitted([
    [k, good],
    [fitKey('m', 'other'), good], // key does not match the record
    [fitKey('m', 'u'), { ...good, taskId: 'u', rows: [0, 0, 0, 0] }], // not a Float32Array
    [fitKey('m', 'v'), { ...good, taskId: 'v', rows: Float32Array.of(NaN, 0, 0, 0) }],
    [fitKey('m', 'w'), { ...good, taskId: 'w', variants: [] }],
    [fitKey('m', 'x'), null],
    [7, good],
  ]);
  expect(Object.keys(out)).toEqual([k]);
});
