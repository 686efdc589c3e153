/**
 * Solver runs: the live run the visualizer draws (its frames arrive one H-cycle at a time and
 * are read through store.subscribe, not React renders), finished results per test input
 * (persisted in IndexedDB so a long "Solve all" can resume after a reload), batch progress,
 * and scoring derived from the results with the upstream evaluator's rules.
 */
import { createStore as createIdbStore, del as idbDel, entries as idbEntries, set as idbSet } from 'idb-keyval';
import { scoreTask, summariseScores, type ScoreSummary, type TaskScore } from '../arc/score.ts';
import type { Task } from '../arc/types.ts';
import { CancelledError } from '../engine/errors.ts';
import type { FrameBatch, SolveResult, VariantInfo } from '../engine/protocol.ts';
import { fittedFor } from './fit.ts';
import type { AppState, AppStore, SliceCreator } from './store.ts';

export type RunStatus = 'running' | 'done' | 'cancelled' | 'error';

export interface LiveRun {
  key: string;
  taskId: string;
  testIndex: number;
  status: RunStatus;
  variants: VariantInfo[];
  /** One per H-cycle, in order; the last is the solve's final readout. */
  frames: FrameBatch[];
  error?: string;
}

/** A finished solve as stored: the engine's result plus which model produced it. */
export interface StoredResult extends SolveResult {
  /** Absolute manifest URL of the model that produced it (a batch re-solves results of other models). */
  model: string;
  finishedAt: number;
}

export interface BatchProgress {
  running: boolean;
  tasksTotal: number;
  tasksDone: number;
  inputsTotal: number;
  inputsDone: number;
  /** Inputs solved by this batch (not resumed from storage): the ETA's rate. */
  solvedHere: number;
  startedAt: number;
  etaMs: number | null;
  /** Why it stopped early: 'cancelled' or an error message. */
  stopped?: string;
}

export interface SolveOptions {
  /** Augmented variants per test input (the original included). */
  variants: number;
  /** Stop once every variant would halt, instead of upstream's fixed halt_max_steps. */
  stopAtHalt: boolean;
}

export interface SolveState {
  options: SolveOptions;
  live: LiveRun | null;
  /** Frame index shown; null follows the newest frame while a run streams. */
  frame: number | null;
  /** Variant whose prediction the main canvas shows. */
  variant: number;
  /** By resultKey(taskId, testIndex). */
  results: Record<string, StoredResult>;
  batch: BatchProgress | null;
}

export interface SolveSlice {
  solve: SolveState;
  setSolveOptions(patch: Partial<SolveOptions>): void;
  /** Solves one test input; resolves when it is done (or failed, recorded in `live`). */
  solveInput(task: Task, testIndex: number): Promise<StoredResult | null>;
  /** Every test input of the task, in order. */
  solveTask(task: Task): Promise<void>;
  /** Every loaded task; inputs already solved with the current model are skipped (resume). */
  solveAll(): Promise<void>;
  cancelSolve(): Promise<void>;
  selectFrame(index: number | null): void;
  selectVariant(index: number): void;
  restoreResults(results: Record<string, StoredResult>): void;
  clearResults(): void;
}

export const resultKey = (taskId: string, testIndex: number) => `${taskId}#${testIndex}`;

const DEFAULT_SOLVE_OPTIONS: SolveOptions = { variants: 8, stopAtHalt: false };

/** Remaining time from the rate so far; null until something was solved. */
function estimateEtaMs(elapsedMs: number, solved: number, remaining: number): number | null {
  return solved > 0 ? (elapsedMs / solved) * remaining : null;
}

/** Candidates per test input of a task from stored results (undefined where not solved). */
export function taskCandidates(task: Task, results: Record<string, StoredResult>) {
  return task.test.map((_, i) => results[resultKey(task.id, i)]?.candidates);
}

export function taskScoreOf(task: Task, results: Record<string, StoredResult>): TaskScore | undefined {
  return scoreTask(task, taskCandidates(task, results));
}

/** pass@1 / pass@2 over every loaded task with solutions; unsolved inputs count as wrong. */
export function scoreSummary(tasks: readonly Task[], results: Record<string, StoredResult>): ScoreSummary {
  return summariseScores(tasks.map((t) => taskScoreOf(t, results)));
}

export type TaskSolveState = 'none' | 'partial' | 'solved' | 'correct' | 'wrong';

/** For the task list: none / some / all inputs solved, or (with solutions) correct at pass@2 or not. */
export function taskSolveState(task: Task, results: Record<string, StoredResult>): TaskSolveState {
  const done = task.test.filter((_, i) => results[resultKey(task.id, i)]).length;
  if (done === 0) return 'none';
  if (done < task.test.length) return 'partial';
  const score = taskScoreOf(task, results);
  if (!score) return 'solved';
  return score.passAt[2] === 1 ? 'correct' : 'wrong';
}

const isCancel = (e: unknown) => e instanceof CancelledError || (e as Error)?.name === 'CancelledError';

export const createSolveSlice: SliceCreator<SolveSlice> = (set, get) => {
  const patch = (p: Partial<SolveState> | ((s: SolveState) => Partial<SolveState>)) =>
    set((s) => ({ solve: { ...s.solve, ...(typeof p === 'function' ? p(s.solve) : p) } }));
  const patchLive = (key: string, p: (l: LiveRun) => Partial<LiveRun>) =>
    patch((s) => (s.live?.key === key ? { live: { ...s.live, ...p(s.live) } } : {}));
  let cancelRequested = false;

  /** The model is loaded on first use, so Solve works straight from a fresh page. */
  const ensureModel = async (): Promise<string> => {
    const m = get().model;
    if (m.status === 'ready' && m.info) return m.info.url;
    const info = await get().loadModel(m.url);
    if (!info) throw new Error(get().model.error ?? 'the model did not load');
    return info.url;
  };

  const solveInput = async (task: Task, testIndex: number): Promise<StoredResult | null> => {
    const key = resultKey(task.id, testIndex);
    patch({ live: { key, taskId: task.id, testIndex, status: 'running', variants: [], frames: [] }, frame: null, variant: 0 });
    try {
      const model = await ensureModel();
      const { variants, stopAtHalt } = get().solve.options;
      // Rows fitted for this task on this model (never another model's: fittedFor keys by name).
      const fitted = fittedFor(get(), task.id);
      const result = await get().engine().solve(
        { task, testIndex, maxVariants: variants, stopAtHalt, ...(fitted && { fitted: { variants: fitted.variants, rows: fitted.rows, ...(fitted.weights && { weights: fitted.weights }) } }) },
        {
          onStart: (vs) => patchLive(key, () => ({ variants: vs })),
          onFrameBatch: (f) => patchLive(key, (l) => ({ frames: [...l.frames, f] })),
        },
      );
      const stored: StoredResult = { ...result, model, finishedAt: Date.now() };
      patch((s) => ({ results: { ...s.results, [key]: stored } }));
      patchLive(key, () => ({ status: 'done' }));
      return stored;
    } catch (e) {
      patchLive(key, () => (isCancel(e) ? { status: 'cancelled' } : { status: 'error', error: (e as Error).message }));
      if (isCancel(e)) cancelRequested = true;
      return null;
    }
  };

  const runBatch = async (tasks: readonly Task[], skipSolved: boolean) => {
    cancelRequested = false;
    let model: string;
    try {
      model = await ensureModel();
    } catch (e) {
      patch({ batch: { running: false, tasksTotal: tasks.length, tasksDone: 0, inputsTotal: 0, inputsDone: 0, solvedHere: 0, startedAt: Date.now(), etaMs: null, stopped: (e as Error).message } });
      return;
    }
    const isDone = (t: Task, i: number) => skipSolved && get().solve.results[resultKey(t.id, i)]?.model === model;
    const inputsTotal = tasks.reduce((n, t) => n + t.test.length, 0);
    const startedAt = Date.now();
    const progress = (p: Partial<BatchProgress>) => patch((s) => ({ batch: s.batch && { ...s.batch, ...p } }));
    patch({ batch: { running: true, tasksTotal: tasks.length, tasksDone: 0, inputsTotal, inputsDone: 0, solvedHere: 0, startedAt, etaMs: null } });
    let inputsDone = 0, solvedHere = 0, tasksDone = 0;
    for (const task of tasks) {
      for (let i = 0; i < task.test.length; i++) {
        if (!isDone(task, i)) {
          const r = await solveInput(task, i);
          if (cancelRequested) return progress({ running: false, stopped: 'cancelled', etaMs: null });
          const live = get().solve.live;
          if (!r) return progress({ running: false, stopped: live?.error ?? 'failed', etaMs: null });
          solvedHere++;
        }
        inputsDone++;
        progress({ inputsDone, solvedHere, etaMs: estimateEtaMs(Date.now() - startedAt, solvedHere, inputsTotal - inputsDone) });
      }
      progress({ tasksDone: ++tasksDone });
    }
    progress({ running: false, etaMs: 0 });
  };

  return {
    solve: { options: DEFAULT_SOLVE_OPTIONS, live: null, frame: null, variant: 0, results: {}, batch: null },
    setSolveOptions: (p) => patch((s) => ({ options: { ...s.options, ...p } })),
    solveInput,
    solveTask: (task) => runBatch([task], false),
    solveAll: () => runBatch(get().tasks, true),
    cancelSolve: async () => {
      cancelRequested = true;
      await get().engine().cancel();
    },
    selectFrame: (index) => patch({ frame: index }),
    selectVariant: (index) => patch({ variant: index }),
    restoreResults: (results) => patch((s) => ({ results: { ...results, ...s.results } })),
    clearResults: () => patch({ results: {}, batch: null }),
  };
};

// ---- persistence of results (IndexedDB): one record per test input, so a batch writes only what changed ----

export interface ResultsPersistence {
  loadAll(): Promise<[IDBValidKey, unknown][]>;
  put(key: string, result: StoredResult): Promise<void>;
  remove(key: string): Promise<void>;
}

export function idbResultsPersistence(): ResultsPersistence {
  const db = createIdbStore('trm-studio-results', 'results');
  return { loadAll: () => idbEntries(db), put: (k, r) => idbSet(k, r, db), remove: (k) => idbDel(k, db) };
}

/** Keeps the stored records that still look like results (a damaged store must not break startup). */
export function readResults(entries: readonly [IDBValidKey, unknown][]): Record<string, StoredResult> {
  const out: Record<string, StoredResult> = {};
  for (const [key, r] of entries) {
    const v = r as Partial<StoredResult> | null;
    if (typeof key === 'string' && v && typeof v.taskId === 'string' && Number.isInteger(v.testIndex) &&
      key === resultKey(v.taskId, v.testIndex!) && Array.isArray(v.candidates) && v.attempts && typeof v.model === 'string') {
      out[key] = v as StoredResult;
    }
  }
  return out;
}

/** Restores stored results, then writes each added, changed or removed one. Returns a stop function. */
export async function startResultsPersistence(store: AppStore, persistence: ResultsPersistence): Promise<() => void> {
  try {
    store.getState().restoreResults(readResults(await persistence.loadAll()));
  } catch (e) {
    console.warn('could not read saved results', e);
  }
  const warn = (e: unknown) => console.warn('could not save results', e);
  return store.subscribe((s: AppState, prev: AppState) => {
    const now = s.solve.results, before = prev.solve.results;
    if (now === before) return;
    for (const [k, r] of Object.entries(now)) if (before[k] !== r) persistence.put(k, r).catch(warn);
    for (const k of Object.keys(before)) if (!(k in now)) persistence.remove(k).catch(warn);
  });
}
