/**
 * The loaded model: which manifest, load progress, the backend the worker chose and why, and
 * engine notices. Owns the store's engine handle (one worker per store), created on first use
 * so that tests and pages without a solve never start a worker.
 */
import { TrmEngine, type LoadHandlers } from '../engine/client.ts';
import type { LoadProgress, ModelInfo, Notice, RowSource, RunState } from '../engine/protocol.ts';
import type { SliceCreator } from './store.ts';

/** What the state needs of the engine (TrmEngine in the app). */
export type SolverEngine = Pick<TrmEngine, 'load' | 'solve' | 'fit' | 'pause' | 'resume' | 'step' | 'cancel' | 'on'>
  // Optional: only the whole-network mode asks for it, and in-process test engines may leave it out.
  & Partial<Pick<TrmEngine, 'fitCost'>>;

export type ModelStatus = 'none' | 'loading' | 'ready' | 'error';

/** The model the app ships with; the engine helper's build serves it from public/models/. */
export const DEFAULT_MODEL_URL = 'models/golden-h64/manifest.json';

export interface ModelState {
  status: ModelStatus;
  /** Manifest URL of the loaded (or loading) model. */
  url: string;
  info: ModelInfo | null;
  progress: LoadProgress | null;
  error: string | null;
  notices: Notice[];
  runState: RunState;
}

export interface ModelSlice {
  model: ModelState;
  /** Loads (or reloads) a model; resolves with its info, or null after recording the error. */
  loadModel(url: string, options?: Omit<LoadHandlers, 'onProgress'>): Promise<ModelInfo | null>;
  /** The model Solve loads on first use (the panel's choice before "Load"). */
  setModelUrl(url: string): void;
  engine(): SolverEngine;
  /** Replaces the engine (tests, or a page that manages its own worker). */
  setEngine(engine: SolverEngine): void;
}

/** How the model relates to a task's puzzle embedding, for the model panel's banner. */
export type EmbeddingStatus = 'trained' | 'table' | 'untrained' | 'fitted';

/**
 * `ranWith` is where a solve of this task actually took its rows from, when one ran: it is
 * definitive, since the table's identifiers are only read in the worker. `hasFitted`: rows were
 * fitted for the task on this model, so the next solve uses them whatever ran before.
 */
export function embeddingStatus(info: ModelInfo | null, taskId: string, ranWith?: RowSource, hasFitted = false): EmbeddingStatus {
  if (hasFitted) return 'fitted';
  // A solve that ran on rows fitted since removed says nothing about the model's own rows.
  if (ranWith && ranWith !== 'fitted') return ranWith === 'blank' ? 'untrained' : 'trained';
  if (info?.taskIds.includes(taskId)) return 'trained';
  if (info?.hasTable) return 'table';
  return 'untrained';
}

const INITIAL_MODEL: ModelState = {
  status: 'none', url: DEFAULT_MODEL_URL, info: null, progress: null, error: null, notices: [], runState: 'idle',
};

export const createModelSlice: SliceCreator<ModelSlice> = (set, get) => {
  let engine: SolverEngine | undefined;
  let unsubscribe: (() => void)[] = [];
  const patch = (p: Partial<ModelState>) => set((s) => ({ model: { ...s.model, ...p } }));

  const attach = (e: SolverEngine) => {
    for (const u of unsubscribe) u();
    engine = e;
    unsubscribe = [
      e.on('notice', (n) => set((s) => ({ model: { ...s.model, notices: [...s.model.notices, n] } }))),
      e.on('backend', (backend) => set((s) => ({ model: { ...s.model, info: s.model.info && { ...s.model.info, backend } } }))),
      e.on('state', (runState) => patch({ runState })),
    ];
    return e;
  };

  return {
    model: INITIAL_MODEL,
    engine: () => engine ?? attach(new TrmEngine()),
    setEngine: (e) => void attach(e),
    setModelUrl: (url) => patch({ url }),
    loadModel: async (url, options = {}) => {
      patch({ status: 'loading', url, progress: null, error: null });
      try {
        const info = await get().engine().load(url, { ...options, onProgress: (progress) => patch({ progress }) });
        patch({ status: 'ready', info });
        return info;
      } catch (e) {
        patch({ status: 'error', error: (e as Error).message });
        return null;
      }
    },
  };
};
