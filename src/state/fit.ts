/**
 * Fitting puzzle rows for tasks the loaded model has no rows for (test-time training, issue 9):
 * the fit options, the live fit (its per-step progress arrives one step at a time and is read
 * through store.subscribe by the loss chart, not React renders), and the fitted rows per
 * (model name, task id). A fit's rows reach IndexedDB in one put after the fit resolves, so a
 * cancelled or failed fit never leaves a half-written entry; solve passes the stored rows on.
 */
import { createStore as createIdbStore, del as idbDel, entries as idbEntries, set as idbSet } from 'idb-keyval';
import type { Task } from '../arc/types.ts';
import { CancelledError } from '../engine/errors.ts';
import type { FitCost, FitProgressEvent, FittedRows, ModelInfo } from '../engine/protocol.ts';
import type { Variant } from '../model/manifest.ts';
import type { AppState, AppStore, SliceCreator } from './store.ts';

export type FitStatus = 'running' | 'done' | 'cancelled' | 'error';
export type FitOptimizer = 'adam' | 'sign';
/** row: the network frozen (fast); full: every weight fine-tuned with the row (needs ModelInfo.canFitFull). */
export type FitMode = 'row' | 'full';

export interface FitOptions {
  mode: FitMode;
  steps: number;
  /** Keep one demonstration out of fitting to see whether the row generalises. */
  holdOut: boolean;
  optimizer: FitOptimizer;
  /** Augmented variants fitted, one row each (FitRequest.variants; the panel offers 1, 2, 4, 8): a step costs about this many times one row's. */
  variants: number;
}

/** Fitted rows as stored: one IndexedDB record per (model name, task id). */
export interface FittedRecord {
  /** ModelInfo.name (manifest name): rows of one model mean nothing to another. */
  model: string;
  taskId: string;
  variants: Variant[];
  /** float32 [variants.length, puzzle_emb_ndim]. */
  rows: Float32Array;
  /** Whole-network fit: the fine-tuned weights by name (the rows are only valid with them). */
  weights?: Record<string, Float32Array>;
  stats: FittedRows['stats'];
  /** Loss per step as it streamed, so the curve can be shown again after a reload. */
  losses: number[];
  fittedAt: number;
}

export interface FitLive {
  key: string;
  model: string;
  taskId: string;
  status: FitStatus;
  steps: number;
  /** One per finished step, in order. */
  losses: number[];
  last: FitProgressEvent | null;
  /** The last scored step (the engine scores exact matches every few steps, not every step). */
  scored: FitProgressEvent | null;
  startedAt: number;
  /** What happened, for the panel: the error, or what a cancel kept. */
  message?: string;
}

export interface FitState {
  options: FitOptions;
  live: FitLive | null;
  /** By fitKey(model, taskId). */
  fitted: Record<string, FittedRecord>;
  /** Records IndexedDB refused (quota, private mode), by key: they live in this page only. */
  unsaved: Record<string, string>;
  /** The cost of a whole-network fit of one task, asked before it starts (estimateFitCost). */
  cost: FitCostState | null;
}

export interface FitCostState {
  key: string;
  taskId: string;
  status: 'measuring' | 'ready' | 'error';
  cost?: FitCost;
  message?: string;
}

/** Where fitted rows live; IndexedDB in the app, a Map in tests. */
export interface FitPersistence {
  loadAll(): Promise<[IDBValidKey, unknown][]>;
  put(key: string, record: FittedRecord): Promise<void>;
  remove(key: string): Promise<void>;
}

export interface FitSlice {
  fit: FitState;
  setFitOptions(patch: Partial<FitOptions>): void;
  /** Fits the task's row on the loaded model; resolves with the stored record, or null (recorded in `live`). */
  fitTask(task: Task): Promise<FittedRecord | null>;
  /** A fit past its first step resolves with its best rows so far; before it, nothing is kept. */
  cancelFit(): Promise<void>;
  removeFitted(model: string, taskId: string): Promise<void>;
  restoreFitted(records: Record<string, FittedRecord>): void;
  setFitPersistence(p: FitPersistence | null): void;
  /** Asks the engine what a whole-network fit of the task costs (one measured step); result in fit.cost. */
  estimateFitCost(task: Task): Promise<FitCost | null>;
}

/** JSON of the pair: unambiguous whatever characters the model name or task id hold. */
export const fitKey = (model: string, taskId: string) => JSON.stringify([model, taskId]);

export const DEFAULT_FIT_OPTIONS: FitOptions = { mode: 'row', steps: 100, holdOut: false, optimizer: 'adam', variants: 1 };
/** The Variants choices of the panel. */
export const FIT_VARIANT_CHOICES = [1, 2, 4, 8] as const;
export const MAX_FIT_STEPS = 5000;

/** The fitted record of a task for the loaded model, if any (never another model's). */
export function fittedFor(s: Pick<AppState, 'fit' | 'model'>, taskId: string): FittedRecord | undefined {
  const name = s.model.info?.name;
  return name === undefined ? undefined : s.fit.fitted[fitKey(name, taskId)];
}

/** Every fitted record of the loaded model, by task id. */
export function fittedForModel(fitted: Record<string, FittedRecord>, model: string | undefined): FittedRecord[] {
  return Object.values(fitted).filter((r) => r.model === model).sort((a, b) => a.taskId.localeCompare(b.taskId));
}

export const isFitting = (s: Pick<AppState, 'fit'>) => s.fit.live?.status === 'running';

/**
 * Why the task cannot be fitted on this model, or null. The worker checks the same things; asking
 * here first gives the message before a worker round trip and keeps the button honest.
 */
export function fitProblem(task: Task, info: ModelInfo | null, mode: FitMode = 'row'): string | null {
  if (!info) return null; // the model loads on first use; the worker then says what is wrong
  if (!info.canFit) return `model "${info.name}" has no gradient graph (fit_grad.onnx), so it cannot fit new tasks; reconvert it with \`trm convert --grad\``;
  if (mode === 'full' && !info.canFitFull) return `model "${info.name}" has no whole-network fine-tuning graph (fit_full.onnx); reconvert it with \`trm convert --grad\``;
  if (task.train.length === 0) return `task "${task.id}" has no demonstrations to fit on`;
  const n = info.config.grid_size;
  for (const [i, p] of task.train.entries()) {
    for (const [field, grid] of [['input', p.input], ['output', p.output]] as const) {
      const rows = grid.length, cols = grid[0]?.length ?? 0;
      if (rows > n || cols > n) return `task "${task.id}": train[${i}].${field} is ${rows}×${cols}, larger than the model's ${n}×${n} canvas`;
    }
  }
  return null;
}

/** "≈ 12.3 s for 100 steps, 4.2 MB" (weights + Adam state + gradients). */
export function fitCostText(cost: FitCost): string {
  const mb = (cost.weightBytes + cost.optimizerBytes + cost.gradientBytes) / 1e6;
  const secs = cost.estimatedMs / 1000;
  return `≈ ${secs >= 10 ? secs.toFixed(0) : secs.toFixed(1)} s for ${cost.steps} steps, ${mb.toFixed(1)} MB`;
}

/** Demo accuracy of a record as the UI writes it: "3/4" (and "held out 1/1"). */
export function fitAccuracy(stats: FittedRows['stats']): string {
  const held = stats.held_out_total ? `, held out ${stats.held_out_exact ?? 0}/${stats.held_out_total}` : '';
  return `${stats.train_exact}/${stats.train_total}${held}`;
}

const isCancel = (e: unknown) => e instanceof CancelledError || (e as Error)?.name === 'CancelledError';

export const createFitSlice: SliceCreator<FitSlice> = (set, get) => {
  const patch = (p: Partial<FitState> | ((s: FitState) => Partial<FitState>)) =>
    set((s) => ({ fit: { ...s.fit, ...(typeof p === 'function' ? p(s.fit) : p) } }));
  const patchLive = (key: string, p: (l: FitLive) => Partial<FitLive>) =>
    patch((s) => (s.live?.key === key && s.live ? { live: { ...s.live, ...p(s.live) } } : {}));
  let persistence: FitPersistence | null = null;

  const ensureModel = async (): Promise<ModelInfo> => {
    const m = get().model;
    if (m.status === 'ready' && m.info) return m.info;
    const info = await get().loadModel(m.url);
    if (!info) throw new Error(get().model.error ?? 'the model did not load');
    return info;
  };

  const fail = (taskId: string, message: string) =>
    patch({ live: { key: '', model: get().model.info?.name ?? '', taskId, status: 'error', steps: 0, losses: [], last: null, scored: null, startedAt: Date.now(), message } });

  const fitTask = async (task: Task): Promise<FittedRecord | null> => {
    if (isFitting(get())) {
      fail(task.id, 'a fit is already running; cancel it first');
      return null;
    }
    let info: ModelInfo;
    try {
      info = await ensureModel();
    } catch (e) {
      fail(task.id, (e as Error).message);
      return null;
    }
    const { mode, steps, holdOut, variants } = get().fit.options;
    // Whole-network fitting is Adam only (the weights' optimizer).
    const optimizer = mode === 'full' ? 'adam' : get().fit.options.optimizer;
    const problem = fitProblem(task, info, mode);
    if (problem) {
      fail(task.id, problem);
      return null;
    }
    const key = fitKey(info.name, task.id);
    patch({ live: { key, model: info.name, taskId: task.id, status: 'running', steps, losses: [], last: null, scored: null, startedAt: Date.now() } });
    let result: FittedRows;
    try {
      result = await get().engine().fit(
        // A split needs a demonstration left to fit on; the panel greys the box out below two.
        { task, steps, optimizer, mode, variants, holdOut: holdOut && task.train.length >= 2 ? 1 : 0 },
        { onProgress: (e) => patchLive(key, (l) => ({ losses: [...l.losses, e.loss], last: e, scored: e.trainCorrect !== undefined ? e : l.scored })) },
      );
    } catch (e) {
      // Whatever was stored for the task before stays as it was.
      patchLive(key, () => (isCancel(e) ? { status: 'cancelled', message: 'Cancelled before the first step: nothing was stored.' } : { status: 'error', message: (e as Error).message }));
      return null;
    }
    const losses = get().fit.live?.key === key ? get().fit.live!.losses : [];
    const record: FittedRecord = {
      model: info.name, taskId: task.id, variants: result.variants, rows: result.rows, stats: result.stats, losses, fittedAt: Date.now(),
      ...(result.weights && { weights: result.weights }),
    };
    // One put of the whole record after the fit resolved: IndexedDB writes it entirely or not at all.
    let unsaved: string | undefined;
    try {
      if (persistence) await persistence.put(key, record);
    } catch (e) {
      const err = e as Error;
      unsaved = `could not store the fitted row in IndexedDB (${err.name}: ${err.message}); it is used in this page until it is reloaded`;
    }
    const cancelled = result.stats.cancelled === true;
    const message = (cancelled ? `Cancelled: kept the best row so far (step ${result.stats.best_step}).` : '') + (unsaved ? ` Not saved: ${unsaved}.` : '');
    // One update: the panel never shows the fit finished without its rows, or the reverse.
    patch((s) => {
      const rest = { ...s.unsaved };
      delete rest[key];
      return {
        fitted: { ...s.fitted, [key]: record },
        unsaved: unsaved ? { ...rest, [key]: unsaved } : rest,
        live: s.live?.key === key ? { ...s.live, status: cancelled ? 'cancelled' : 'done', message } : s.live,
      };
    });
    return record;
  };

  return {
    fit: { options: DEFAULT_FIT_OPTIONS, live: null, fitted: {}, unsaved: {}, cost: null },
    setFitOptions: (p) => patch((s) => {
      const options = { ...s.options, ...p };
      options.steps = Math.max(1, Math.min(MAX_FIT_STEPS, Math.round(options.steps) || 1));
      options.variants = Math.max(1, Math.min(8, Math.round(options.variants) || 1));
      return { options };
    }),
    fitTask,
    cancelFit: async () => {
      if (isFitting(get())) await get().engine().cancel();
    },
    removeFitted: async (model, taskId) => {
      const key = fitKey(model, taskId);
      patch((s) => {
        const fitted = { ...s.fitted }, unsaved = { ...s.unsaved };
        delete fitted[key];
        delete unsaved[key];
        return { fitted, unsaved };
      });
      try {
        await persistence?.remove(key);
      } catch (e) {
        console.warn('could not remove the stored fitted row', e);
      }
    },
    restoreFitted: (records) => patch((s) => ({ fitted: { ...records, ...s.fitted } })),
    setFitPersistence: (p) => { persistence = p; },
    estimateFitCost: async (task) => {
      let info: ModelInfo;
      try {
        info = await ensureModel();
      } catch {
        return null;
      }
      const { steps, holdOut, variants } = get().fit.options;
      const holdOutN = holdOut && task.train.length >= 2 ? 1 : 0;
      // Keyed by what changes the figure: model, task, steps, split, variants.
      const key = JSON.stringify([info.name, task.id, steps, holdOutN, variants]);
      const engine = get().engine();
      const problem = fitProblem(task, info, 'full');
      if (problem || !engine.fitCost) {
        patch({ cost: { key, taskId: task.id, status: 'error', message: problem ?? 'this engine cannot estimate a whole-network fit' } });
        return null;
      }
      if (get().fit.cost?.key === key && get().fit.cost?.status !== 'error') return get().fit.cost?.cost ?? null;
      patch({ cost: { key, taskId: task.id, status: 'measuring' } });
      try {
        const cost = await engine.fitCost({ task, steps, mode: 'full', holdOut: holdOutN, variants });
        patch((s) => (s.cost?.key === key ? { cost: { key, taskId: task.id, status: 'ready', cost } } : {}));
        return cost;
      } catch (e) {
        patch((s) => (s.cost?.key === key ? { cost: { key, taskId: task.id, status: 'error', message: (e as Error).message } } : {}));
        return null;
      }
    },
  };
};

// ---- persistence (IndexedDB): one record per (model, task), written by fitTask itself ----

export function idbFitPersistence(): FitPersistence {
  const db = createIdbStore('trm-studio-fits', 'fits');
  return { loadAll: () => idbEntries(db), put: (k, r) => idbSet(k, r, db), remove: (k) => idbDel(k, db) };
}

const validWeights = (w: unknown): w is Record<string, Float32Array> =>
  !!w && typeof w === 'object' && Object.keys(w).length > 0 &&
  Object.values(w).every((a) => a instanceof Float32Array && a.length > 0 && a.every(Number.isFinite));

/** Keeps the stored records that still look like fitted rows (a damaged store must not break startup). */
export function readFitted(entries: readonly [IDBValidKey, unknown][]): Record<string, FittedRecord> {
  const out: Record<string, FittedRecord> = {};
  for (const [key, r] of entries) {
    const v = r as Partial<FittedRecord> | null;
    if (typeof key !== 'string' || !v || typeof v.model !== 'string' || typeof v.taskId !== 'string' || key !== fitKey(v.model, v.taskId)) continue;
    if (!Array.isArray(v.variants) || v.variants.length === 0 || !(v.rows instanceof Float32Array)) continue;
    if (v.rows.length === 0 || v.rows.length % v.variants.length !== 0 || !v.rows.every(Number.isFinite)) continue;
    if (!v.stats || !Number.isInteger(v.stats.steps) || !Number.isInteger(v.stats.train_total)) continue;
    // A whole-network record without usable weights would solve with the wrong network: drop it.
    if (v.weights !== undefined && !validWeights(v.weights)) continue;
    if (v.stats.mode === 'full' && v.weights === undefined) continue;
    out[key] = { ...v, losses: Array.isArray(v.losses) ? v.losses : [] } as FittedRecord;
  }
  return out;
}

/** Restores the stored fitted rows and hands the slice its persistence for later fits. */
export async function startFitPersistence(store: AppStore, persistence: FitPersistence): Promise<void> {
  store.getState().setFitPersistence(persistence);
  try {
    store.getState().restoreFitted(readFitted(await persistence.loadAll()));
  } catch (e) {
    console.warn('could not read saved fitted rows', e);
  }
}
