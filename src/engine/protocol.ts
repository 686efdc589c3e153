/**
 * The typed message protocol between the main thread (engine/client) and the inference
 * worker (engine/worker), in the style of WebLLM's message.ts: every request carries an id,
 * every event that answers it carries the same id. Control requests (pause, resume, step,
 * cancel) act on the running solve and are answered by `state` events.
 *
 * Everything here is structured-clone data; frame buffers are transferred, not copied.
 */
import type { Attempts, Grid, Task } from '../arc/types.ts';
import type { Candidate } from '../arc/vote.ts';
import type { ModelConfig, Precision, Variant } from '../model/manifest.ts';
import type { FitStats } from '../fit/overlay.ts';
import type { SerializedError } from './errors.ts';
import type { FullFitCost } from '../fit/fit-full.ts';

export type BackendName = 'webgpu' | 'wasm';
export type BackendPreference = 'auto' | BackendName;
export type PrecisionPreference = 'auto' | Precision;

/** What the worker found out about the platform before choosing a backend. */
export interface Probe {
  webgpu: boolean;
  /** Adapter feature that fp16 WebGPU kernels need. */
  shaderF16: boolean;
  adapter?: { vendor: string; architecture: string; isFallbackAdapter: boolean };
  /** Why WebGPU is unavailable, when it is. */
  webgpuReason?: string;
  /** Threads need cross-origin isolation; without it WASM runs on one thread. */
  crossOriginIsolated: boolean;
  wasmThreads: number;
}

/** The backend and precision that run, and why; shown in the UI. */
export interface BackendChoice {
  backend: BackendName;
  precision: Precision;
  /** Human-readable reason, e.g. "WebGPU without shader-f16: fp32". */
  reason: string;
  /** The user forced the backend or precision. */
  forced: boolean;
}

export interface LoadOptions {
  backend?: BackendPreference;
  precision?: PrecisionPreference;
  /** Re-fetch manifest.json even when a cached copy exists (files stay cached by sha256). */
  revalidate?: boolean;
  /**
   * Test hooks: make WebGPU fail on purpose to exercise the WASM fallback. 'device-lost-mid-fit'
   * destroys the device after the first fitting step that ran on WebGPU (a fit then restarts on WASM).
   */
  debug?: { failWebGpu?: 'session' | 'device-lost' | 'device-lost-mid-fit' };
}

/** Byte progress of a load; `fromCache` bytes were read from IndexedDB, not the network. */
export interface LoadProgress {
  file: string;
  fileLoaded: number;
  fileTotal: number;
  /** Bytes done / to do over every file this load needs. */
  loaded: number;
  total: number;
  fromCache: boolean;
}

export interface CacheStatus {
  /** 'indexeddb', or 'memory' when IndexedDB is missing or full (files live only in this page). */
  store: 'indexeddb' | 'memory';
  files: number;
  bytes: number;
}

export interface ModelInfo {
  name: string;
  /** URL of manifest.json. */
  url: string;
  config: ModelConfig;
  backend: BackendChoice;
  /** Block precisions the model directory ships. */
  precisions: Precision[];
  /** Task ids with trained per-task rows; tasks outside it (and the table) run on the blank row. */
  taskIds: string[];
  hasTable: boolean;
  /** The model ships a gradient graph (manifest graphs.grad): fit() works. */
  canFit: boolean;
  /** The model ships fit_full.onnx (manifest graphs.gradFull): fit({ mode: 'full' }) works. */
  canFitFull?: boolean;
  cache: CacheStatus;
  /** Bytes read from the network during this load (0 on a warm load). */
  networkBytes: number;
  loadMs: number;
}

/** Where a variant's puzzle embedding row came from. */
export type RowSource = 'task' | 'table' | 'blank' | 'fitted';

export interface VariantInfo extends Variant {
  source: RowSource;
}

export interface SolveRequest {
  /** The task (its id selects trained embedding rows; its pairs seed blank-row augmentations). */
  task: Task;
  /** Which test input of the task to solve. */
  testIndex: number;
  /** Run at most this many augmented variants as one batch (default 8; the original comes first). */
  maxVariants?: number;
  /** ACT steps (default: config.halt_max_steps, upstream evaluation semantics). */
  steps?: number;
  /** Stop at the first ACT step where every variant would halt (sigmoid(q_halt) > 0.5). */
  stopAtHalt?: boolean;
  /** Start paused: nothing runs until resume() or step(). */
  startPaused?: boolean;
  /** Rows from fit() (float32 [variants, puzzle_emb_ndim]): used instead of looking the task up (source 'fitted'). */
  fitted?: {
    variants: Variant[];
    rows: Float32Array;
    /** Whole-network fit (FittedRows.weights): the solve runs fp32 graphs built with these weights. */
    weights?: Record<string, Float32Array>;
  };
}

/** Fit puzzle rows for a task on its demonstrations, the network frozen (issue 9). */
export interface FitRequest {
  task: Task;
  /** Fitting steps (one ACT step per demonstration each, deep supervision); default DEFAULT_FIT_STEPS (src/fit/fit.ts). */
  steps?: number;
  /** Default 1e-2. */
  lr?: number;
  /** Default 'adam'; 'sign' is upstream's sign-SGD for puzzle rows. */
  optimizer?: 'adam' | 'sign';
  /** The last K demonstrations are held out of training and only scored (default 0). */
  holdOut?: number;
  /** Steps between exact-match scoring after the full recursion (default 10; the last step is always scored). */
  evalEvery?: number;
  /**
   * 'row' (default): network frozen. 'full': every trained weight fine-tuned with the row (needs
   * ModelInfo.canFitFull, else InvalidRequestError; Adam only); the result carries `weights`.
   */
  mode?: 'row' | 'full';
  /** Full mode: Adam lr of the weights (default FULL_FIT_WEIGHT_LR, src/fit/fit-full.ts). */
  weightLr?: number;
  /**
   * Augmented variants to fit, one row each, 1..8 (default 1: the task as given): the identity
   * plus distinct dihedral transforms with colour permutations (fitVariants, src/fit/overlay.ts),
   * fitted jointly; a solve votes over them. A step costs about K times as much.
   */
  variants?: number;
}

/** What a whole-network fit of a task will cost, before it starts (fit-cost request); the step is
 * measured on this task's demonstrations, cached per model and demonstration count. */
export type FitCost = FullFitCost & { backend: BackendName };

export interface FitProgressEvent {
  step: number;
  steps: number;
  /** Mean deep-supervision loss per trained demonstration of this step. */
  loss: number;
  /** Since the fit started, paused time left out. */
  elapsedMs: number;
  /** Set on scoring steps: trained demonstrations solved exactly after the full recursion. */
  trainCorrect?: number;
  trainTotal: number;
  /** Set on scoring steps when there is a split. */
  heldOutCorrect?: number;
  /** 0 without a split. */
  heldOutTotal: number;
  /** Session calls per step: demonstrations run in chunks of at most `maxBatch` to bound memory. */
  batches: number;
  maxBatch: number;
  /** Where the gradient graph runs (the worker reports it; WebGPU falls back to WASM when the graph fails there). */
  backend?: BackendName;
}

export interface FittedRows {
  taskId: string;
  /** manifest.name of the model the rows belong to. */
  model: string;
  /** The fitted variants (FitRequest.variants of them, the identity first); row i belongs to variant i. */
  variants: Variant[];
  /** float32 [variants.length, puzzle_emb_ndim]. */
  rows: Float32Array;
  /** Mode 'full': the fine-tuned trained weights (graph layout, by name); the rows are only valid with them. */
  weights?: Record<string, Float32Array>;
  /** steps = steps completed; best_step = updates the returned row has had (0 = the starting row). */
  stats: FitStats & { mode: 'row' | 'full'; ms: number; cancelled?: boolean; best_step: number };
}

/** One readout after an H-cycle for every variant of the batch (wire format, transferable). */
export interface FrameBatch {
  act: number;
  h: number;
  batch: number;
  /** Argmax tokens, uint8 [batch, seq_len], in each variant's augmented frame. */
  tokens: Uint8Array;
  /** Softmax probability of the argmax token, float32 [batch, seq_len]. */
  confidence: Float32Array;
  /** Raw q logits [batch]; sigmoid(qHalt) > 0.5 means "would halt". */
  qHalt: Float32Array;
  qContinue: Float32Array;
  /** Per variant: the prediction cropped and de-augmented back to the task's frame. */
  grids: Grid[];
  /** Per variant: confidence of each cell of `grids`, in the same (de-augmented) layout. */
  gridConfidence: number[][][];
  /** Per variant: this is the first step whose end has sigmoid(q_halt) > 0.5. */
  haltHere: boolean[];
  /** Milliseconds since the solve started, not counting time paused. */
  elapsedMs: number;
}

/** One variant's view of a frame, as the client hands it to onFrame. */
export interface Frame {
  act: number;
  h: number;
  variant: number;
  tokens: Uint8Array;
  confidence: Float32Array;
  grid: Grid;
  gridConfidence: number[][];
  qHalt: number;
  qContinue: number;
  haltHere: boolean;
  elapsedMs: number;
}

/** Wall-clock times with paused time left out. */
export interface SolveTimings {
  totalMs: number;
  /** From the start of the solve to the first frame. */
  firstFrameMs: number;
  /** Mean time per H-cycle (L_cycles + 1 block calls and a readout) over the whole batch. */
  perHCycleMs: number;
  perActMs: number;
}

export interface SolveResult {
  taskId: string;
  testIndex: number;
  attempts: Attempts;
  /** Ranked by (count, meanQ) descending, as upstream votes. */
  candidates: Candidate[];
  variants: VariantInfo[];
  /** Per variant: the final de-augmented prediction and its sigmoid(q_halt). */
  predictions: { grid: Grid; q: number }[];
  /** Per variant: the first ACT step (0-based) where the model would halt, or -1. */
  haltStep: number[];
  steps: number;
  backend: BackendChoice;
  timings: SolveTimings;
}

export type RunState = 'running' | 'paused' | 'idle';

export type Notice =
  | { kind: 'backend-fallback'; from: BackendName; to: BackendName; reason: string }
  | { kind: 'cache-unavailable'; reason: string }
  | { kind: 'cache-repaired'; file: string }
  | { kind: 'solve-restarted'; reason: string }
  /** A fit failed on WebGPU and continues on WASM (from its best rows so far, or from scratch); the reason says which. */
  | { kind: 'fit-restarted'; reason: string }
  /** Fitting runs on another backend than solving (the gradient graph failed on WebGPU). */
  | { kind: 'fit-backend'; backend: BackendName; reason: string };

export interface ClearedCache {
  files: number;
  bytes: number;
}

// ---- requests (main → worker) ----

export type Request =
  | { type: 'probe'; id: number }
  | { type: 'load'; id: number; url: string; options: LoadOptions }
  | { type: 'solve'; id: number; request: SolveRequest }
  | { type: 'fit'; id: number; request: FitRequest }
  | { type: 'fit-cost'; id: number; request: FitRequest }
  | { type: 'pause'; id: number }
  | { type: 'resume'; id: number }
  | { type: 'step'; id: number }
  | { type: 'cancel'; id: number }
  | { type: 'cache-status'; id: number }
  | { type: 'clear-cache'; id: number }
  | { type: 'dispose'; id: number };

export type RequestType = Request['type'];

// ---- events (worker → main) ----

/** What each request type resolves with. */
export interface ReplyValues {
  probe: Probe;
  load: ModelInfo;
  solve: SolveResult;
  fit: FittedRows;
  'fit-cost': FitCost;
  pause: RunState;
  resume: RunState;
  step: RunState;
  cancel: RunState;
  'cache-status': CacheStatus;
  'clear-cache': ClearedCache;
  dispose: null;
}

export type WorkerEvent =
  | { type: 'progress'; id: number; progress: LoadProgress }
  | { type: 'started'; id: number; variants: VariantInfo[]; backend: BackendChoice }
  | { type: 'frame'; id: number; frame: FrameBatch }
  | { type: 'fit-progress'; id: number; progress: FitProgressEvent }
  | { type: 'state'; state: RunState }
  | { type: 'backend'; backend: BackendChoice }
  | { type: 'notice'; notice: Notice }
  | { type: 'reply'; id: number; value: ReplyValues[RequestType] }
  | { type: 'error'; id: number; error: SerializedError };
