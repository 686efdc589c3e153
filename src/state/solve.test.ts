/**
 * The solve slice driven by a real engine: the committed golden model (models/golden-h64) on
 * onnxruntime-node through the same planVariants / solveTestInput path the worker uses, behind
 * an in-process stand-in for the worker client. Checks streaming into `live`, stored results,
 * scoring, the batch's progress, cancel, and resume after a "reload" (a new store restoring the
 * persisted results).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { gridsEqual } from '../arc/grid.ts';
import type { Task } from '../arc/types.ts';
import type { SolveHandlers } from '../engine/client.ts';
import { RunController } from '../engine/control.ts';
import { loadModelDir, type NodeModel } from '../engine/node-runtime.ts';
import type { BackendChoice, ModelInfo, RunState, SolveRequest } from '../engine/protocol.ts';
import { releaseSessions } from '../engine/sessions.ts';
import { solveTestInput } from '../engine/solve.ts';
import { planVariants, puzzleRows } from '../model/puzzles.ts';
import type { SolverEngine } from './model.ts';
import { readResults, resultKey, scoreSummary, startResultsPersistence, taskSolveState, type ResultsPersistence, type StoredResult } from './solve.ts';
import { createAppStore } from './store.ts';

const MODEL_DIR = resolve(import.meta.dirname, '../../models/golden-h64');
const BACKEND: BackendChoice = { backend: 'wasm', precision: 'fp32', reason: 'onnxruntime-node in tests', forced: true };
/** One ACT step instead of 16 keeps each solve well under a second on a busy CI core. */
const STEPS = 1;

/** The worker's solve path, in process: what TrmEngine does through postMessage. */
class InProcessEngine implements SolverEngine {
  solves = 0;
  private controller: RunController | undefined;
  constructor(private readonly m: NodeModel) {}

  async load(url: string): Promise<ModelInfo> {
    const c = this.m.manifest.config;
    return {
      name: this.m.manifest.name, url, config: c, backend: BACKEND, precisions: ['fp32'],
      taskIds: Object.keys(this.m.manifest.puzzles.tasks), hasTable: !!this.m.manifest.puzzles.table, canFit: false,
      cache: { store: 'memory', files: 0, bytes: 0 }, networkBytes: 0, loadMs: 0,
    };
  }

  async solve(req: SolveRequest, h: SolveHandlers = {}) {
    this.solves++;
    const plan = planVariants(this.m.manifest, req.task, req.maxVariants ?? 8);
    const rows = plan.file ? new Uint8Array(await readFile(join(this.m.dir, plan.file))) : undefined;
    this.controller = new RunController(false);
    h.onStart?.(plan.variants, BACKEND);
    return solveTestInput(this.m.ort, this.m.sessions, {
      config: this.m.manifest.config, taskId: req.task.id, testIndex: req.testIndex, input: req.task.test[req.testIndex].input,
      variants: plan.variants, puzzle: puzzleRows(this.m.manifest, plan, rows), backend: BACKEND, steps: STEPS,
      control: this.controller, onFrame: (f) => h.onFrameBatch?.(f),
    });
  }

  async fit(): Promise<never> { throw new Error('fitting is tested in fit.test.ts'); }
  async pause(): Promise<RunState> { return this.controller?.pause() ?? 'idle'; }
  async resume(): Promise<RunState> { return this.controller?.resume() ?? 'idle'; }
  async step(): Promise<RunState> { return this.controller?.step() ?? 'idle'; }
  async cancel(): Promise<RunState> { this.controller?.cancel(); return 'idle'; }
  on(): () => void { return () => {}; }
}

/** Results persistence over a Map, standing in for IndexedDB across a "reload". */
function mapPersistence(map: Map<string, StoredResult>): ResultsPersistence {
  return {
    loadAll: async () => [...map.entries()],
    put: async (k, r) => void map.set(k, structuredClone(r)),
    remove: async (k) => void map.delete(k),
  };
}

const tasks: Task[] = [
  { id: 'a', train: [{ input: [[1, 0]], output: [[0, 1]] }], test: [{ input: [[2, 0, 0]], output: [[0, 0, 2]] }] },
  { id: 'b', train: [{ input: [[3]], output: [[3]] }], test: [{ input: [[4, 4], [0, 4]] }, { input: [[5]], output: [[5]] }] },
  { id: 'c', train: [{ input: [[6, 7]], output: [[7, 6]] }], test: [{ input: [[8, 9]], output: [[9, 8]] }] },
];

let model: NodeModel;
beforeAll(async () => { model = await loadModelDir(MODEL_DIR); });
afterAll(async () => { if (model) await releaseSessions(model.sessions); });

function newStore(engine: InProcessEngine) {
  const store = createAppStore();
  store.getState().setEngine(engine);
  store.setState({ tasks, selectedTaskId: 'a' });
  store.getState().setSolveOptions({ variants: 3 });
  return store;
}

test('one solve streams frames into live, stores the result and the vote it was built from', async () => {
  const engine = new InProcessEngine(model);
  const store = newStore(engine);
  const counts: number[] = [];
  store.subscribe((s) => { if (s.solve.live) counts.push(s.solve.live.frames.length); });
  const result = await store.getState().solveInput(tasks[0], 0);
  const s = store.getState();
  expect(s.model.status).toBe('ready'); // loaded on first use
  const H = model.manifest.config.H_cycles;
  expect(s.solve.live?.status).toBe('done');
  expect(s.solve.live?.frames.length).toBe(STEPS * H);
  // Frames arrived one at a time, each a separate store update.
  expect(new Set(counts)).toEqual(new Set(Array.from({ length: STEPS * H + 1 }, (_, i) => i)));
  expect(s.solve.live?.variants.map((v) => v.source)).toEqual(['blank', 'blank', 'blank']);
  expect(result).toBe(s.solve.results[resultKey('a', 0)]);
  // The stored vote is over the last frame's de-augmented grids.
  const last = s.solve.live!.frames.at(-1)!;
  const total = result!.candidates.reduce((n, c) => n + c.count, 0);
  expect(total).toBe(3);
  for (const c of result!.candidates) expect(last.grids.filter((g) => gridsEqual(g, c.grid)).length).toBe(c.count);
  expect(result!.attempts.attempt_1).toEqual(result!.candidates[0].grid);
  expect(taskSolveState(tasks[0], s.solve.results)).toMatch(/^(correct|wrong)$/);
  expect(taskSolveState(tasks[1], s.solve.results)).toBe('none');
});

test('Solve all: progress over tasks and inputs, cancel stops it, a new store resumes from persisted results', async () => {
  const stored = new Map<string, StoredResult>();
  const engine = new InProcessEngine(model);
  const store = newStore(engine);
  const stop = await startResultsPersistence(store, mapPersistence(stored));

  // Cancel as soon as the second input starts streaming.
  const unsub = store.subscribe((s) => {
    if (s.solve.live?.key === resultKey('b', 0) && s.solve.live.frames.length === 1) void s.cancelSolve();
  });
  await store.getState().solveAll();
  unsub();
  let s = store.getState();
  expect(s.solve.batch).toMatchObject({ running: false, stopped: 'cancelled', tasksDone: 1, tasksTotal: 3, inputsDone: 1, inputsTotal: 4 });
  expect(s.solve.live?.status).toBe('cancelled');
  expect(Object.keys(s.solve.results)).toEqual([resultKey('a', 0)]);
  expect(engine.solves).toBe(2);
  stop();
  expect([...stored.keys()]).toEqual([resultKey('a', 0)]);

  // "Reload": a fresh store restores the stored result and solves only what is missing.
  const engine2 = new InProcessEngine(model);
  const store2 = newStore(engine2);
  await startResultsPersistence(store2, mapPersistence(stored));
  expect(Object.keys(store2.getState().solve.results)).toEqual([resultKey('a', 0)]);
  const etas: (number | null)[] = [];
  store2.subscribe((st) => { if (st.solve.batch) etas.push(st.solve.batch.etaMs); });
  await store2.getState().solveAll();
  s = store2.getState();
  expect(engine2.solves).toBe(3);
  expect(s.solve.batch).toMatchObject({ running: false, tasksDone: 3, inputsDone: 4, solvedHere: 3, etaMs: 0 });
  expect(s.solve.batch?.stopped).toBeUndefined();
  expect(etas.some((e) => e !== null && e > 0)).toBe(true);
  expect(Object.keys(s.solve.results).sort()).toEqual(['a#0', 'b#0', 'b#1', 'c#0']);
  expect(stored.size).toBe(4);
  // Scoring: b#0 has no solution, so b is scored on b#1 only; every task with a solution counts.
  expect(scoreSummary(tasks, s.solve.results).scored).toBe(3);
  expect(taskSolveState(tasks[1], s.solve.results)).toMatch(/^(correct|wrong)$/);
});

test('readResults drops records that do not look like results', () => {
  const good = { taskId: 'a', testIndex: 0, candidates: [], attempts: { attempt_1: [[1]], attempt_2: [[1]] }, model: 'm' };
  expect(Object.keys(readResults([['a#0', good], ['a#1', good], ['x#0', null], [7, good], ['b#0', { ...good, taskId: 'b', candidates: 'no' }]]))).toEqual(['a#0']);
});
