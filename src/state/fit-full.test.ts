/**
 * The fit slice in whole-network mode on the demo model: runFullFitJob (the worker's own full
 * fit) behind an in-process stand-in for the worker client. The cost comes before the fit,
 * the record keeps the fine-tuned weights through the persistence interface (structured
 * clones, as IndexedDB stores them) and after a "reload", and Solve passes them on. Records
 * whose weights are damaged are dropped on restore. Skips when models/demo has no fit_full.onnx.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoTasks } from '../arc/demo/index.ts';
import type { Task } from '../arc/types.ts';
import { RunController } from '../engine/control.ts';
import { readManifest } from '../engine/node-runtime.ts';
import type { BackendChoice, FitCost, FitProgressEvent, FitRequest, FittedRows, ModelInfo, RunState, SolveRequest, SolveResult } from '../engine/protocol.ts';
import { releaseSessions } from '../engine/sessions.ts';
import { estimateFullFit, fullFitMemory, openFitFullSessions, openTunedSessions, type FitFullSessions } from '../fit/fit-full.ts';
import { taskExamples } from '../fit/fit.ts';
import { runFullFitJob } from '../fit/job.ts';
import { fitCostText, fitKey, fittedFor, readFitted, startFitPersistence, type FitPersistence, type FittedRecord } from './fit.ts';
import type { SolverEngine } from './model.ts';
import { createAppStore } from './store.ts';

const MODEL_DIR = resolve(import.meta.dirname, '../../models/demo');
const read = async (p: string) => new Uint8Array(await readFile(join(MODEL_DIR, p)));
const manifest = await readManifest(MODEL_DIR);
const hasFull = !!manifest.graphs.gradFull;
if (!hasFull) console.warn('state/fit-full.test.ts skipped: models/demo has no fit_full.onnx (manifest graphs.gradFull); reconvert it with `trm convert --grad`');
const BACKEND: BackendChoice = { backend: 'wasm', precision: 'fp32', reason: 'onnxruntime-node in tests', forced: true };
const OPTS = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 as const };
const TASK: Task = { ...demoTasks.find((t) => t.id === 'demo-flip-1')!, id: 'new-flip' };

class InProcessEngine implements SolverEngine {
  fits: FitRequest[] = [];
  solves: SolveRequest[] = [];
  costs: FitRequest[] = [];
  constructor(private readonly s: FitFullSessions) {}
  async load(url: string): Promise<ModelInfo> {
    return {
      name: manifest.name, url, config: manifest.config, backend: BACKEND, precisions: ['fp32'], taskIds: Object.keys(manifest.puzzles.tasks),
      hasTable: false, canFit: true, canFitFull: true, cache: { store: 'memory', files: 0, bytes: 0 }, networkBytes: 0, loadMs: 0,
    };
  }
  async fitCost(req: FitRequest): Promise<FitCost> {
    this.costs.push(req);
    const c = manifest.config, steps = req.steps ?? 100;
    const est = await estimateFullFit(ortNode, this.s, { config: c, examples: taskExamples(req.task, c.grid_size), init: new Float32Array(c.puzzle_emb_ndim), steps });
    return { ...fullFitMemory(this.s.weights), msPerStep: est.msPerStep, steps, estimatedMs: est.estimatedMs, backend: 'wasm' };
  }
  async fit(req: FitRequest, h: { onProgress?: (e: FitProgressEvent) => void } = {}): Promise<FittedRows> {
    this.fits.push(req);
    return structuredClone(await runFullFitJob(ortNode, this.s, manifest, req, new RunController(), (e) => h.onProgress?.(e), {
      readFile: read, openTuned: (w) => openTunedSessions(ortNode, manifest.config, w, OPTS), releaseTuned: releaseSessions,
    }));
  }
  async solve(req: SolveRequest): Promise<SolveResult> {
    this.solves.push(req);
    throw new Error('not solved here: the test only checks what Solve sends');
  }
  async pause(): Promise<RunState> { return 'idle'; }
  async resume(): Promise<RunState> { return 'idle'; }
  async step(): Promise<RunState> { return 'idle'; }
  async cancel(): Promise<RunState> { return 'idle'; }
  on(): () => void { return () => {}; }
}

describe.skipIf(!hasFull)('fit slice, whole-network mode (models/demo)', () => {
  let s: FitFullSessions;
  beforeAll(async () => { s = await openFitFullSessions(ortNode, manifest, read, OPTS); });
  afterAll(async () => { if (s) await s.full.release(); });

  test('cost before the fit; the record keeps the weights through persistence and a reload; Solve passes them', async () => {
    const map = new Map<string, FittedRecord>();
    let puts = 0;
    const p: FitPersistence = {
      loadAll: async () => [...map.entries()],
      put: async (k, r) => { puts++; map.set(k, structuredClone(r)); },
      remove: async (k) => { map.delete(k); },
    };
    const engine = new InProcessEngine(s);
    const store = createAppStore();
    store.getState().setEngine(engine);
    store.setState({ tasks: [TASK], selectedTaskId: TASK.id });
    await startFitPersistence(store, p);
    store.getState().setFitOptions({ mode: 'full', steps: 3, optimizer: 'sign' });

    const cost = await store.getState().estimateFitCost(TASK);
    expect(cost).not.toBeNull();
    expect(store.getState().fit.cost).toMatchObject({ taskId: TASK.id, status: 'ready' });
    expect(cost!.weightBytes).toBe(4 * cost!.weights);
    expect(cost!.estimatedMs).toBeCloseTo(3 * cost!.msPerStep, 6);
    expect(fitCostText(cost!)).toMatch(/^≈ \d+(\.\d)? s for 3 steps, \d+\.\d MB$/);
    // Asked again with nothing changed: the figure is reused, not measured again.
    await store.getState().estimateFitCost(TASK);
    expect(engine.costs).toHaveLength(1);

    const record = await store.getState().fitTask(TASK);
    expect(record).not.toBeNull();
    // Full mode runs Adam whatever the row optimizer option says.
    expect(engine.fits[0]).toMatchObject({ mode: 'full', optimizer: 'adam', steps: 3 });
    expect(record!.stats.mode).toBe('full');
    expect(puts).toBe(1);
    const names = s.weights.filter((t) => t.trained).map((t) => t.name).sort();
    expect(Object.keys(record!.weights!).sort()).toEqual(names);

    // "Reload": a fresh store restores the record, weights bit for bit.
    const again = createAppStore();
    again.getState().setEngine(engine);
    await startFitPersistence(again, p);
    await again.getState().loadModel('models/demo/manifest.json');
    const restored = fittedFor(again.getState(), TASK.id)!;
    expect(restored.weights).toBeDefined();
    for (const n of names) expect(restored.weights![n]).toEqual(record!.weights![n]);

    await again.getState().solveInput(TASK, 0);
    const sent = engine.solves.at(-1)?.fitted;
    expect(sent?.weights && Object.keys(sent.weights).sort()).toEqual(names);
    expect(sent!.weights![names[0]]).toEqual(record!.weights![names[0]]);
    expect(sent!.rows).toEqual(record!.rows);

    // Damaged weights (a NaN, or a full-mode record that lost them): dropped, never solved with.
    const key = fitKey(manifest.name, TASK.id);
    const bad = structuredClone(map.get(key)!);
    bad.weights![names[0]][0] = NaN;
    expect(readFitted([[key, bad]])).toEqual({});
    const lost = structuredClone(map.get(key)!);
    delete lost.weights;
    expect(readFitted([[key, lost]])).toEqual({});
    expect(Object.keys(readFitted([[key, map.get(key)!]]))).toEqual([key]);
  });
});
