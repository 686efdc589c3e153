/**
 * Main-thread handle on the inference worker: a promise API over the message protocol plus
 * event subscriptions for what happens outside a request (backend fallback, cache notices,
 * run state). The worker owns onnxruntime-web; this file never imports it.
 *
 *   const engine = new TrmEngine();
 *   const info = await engine.load('/models/golden-h64/manifest.json', { onProgress });
 *   const result = await engine.solve({ taskId, testIndex: 0, input }, { onFrame });
 */
import { CancelledError, deserializeError, WorkerCrashedError } from './errors.ts';
import type {
  BackendChoice, CacheStatus, ClearedCache, FitCost, FitProgressEvent, FitRequest, FittedRows, Frame, FrameBatch, LoadOptions, LoadProgress, ModelInfo,
  Notice, Probe, ReplyValues, Request, RequestType, RunState, SolveRequest, SolveResult, VariantInfo, WorkerEvent,
} from './protocol.ts';

export interface LoadHandlers extends LoadOptions {
  onProgress?: (p: LoadProgress) => void;
}

export interface SolveHandlers {
  /** Once per variant per H-cycle, in order, as frames are computed. */
  onFrame?: (frame: Frame) => void;
  /** The whole batch of one H-cycle at once (cheaper for a visualizer that draws all variants). */
  onFrameBatch?: (frame: FrameBatch) => void;
  /** The variants chosen for the batch and the backend they run on, before the first frame. */
  onStart?: (variants: VariantInfo[], backend: BackendChoice) => void;
}

export interface FitHandlers {
  /** After every fitting step; scoring steps carry trainCorrect (and heldOutCorrect). */
  onProgress?: (p: FitProgressEvent) => void;
}

export interface EngineEvents {
  notice: Notice;
  state: RunState;
  backend: BackendChoice;
}

type Listener<K extends keyof EngineEvents> = (value: EngineEvents[K]) => void;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onEvent?: (e: WorkerEvent) => void;
}

/** Request fields other than type and id, per type. */
type Body<T extends RequestType> = Omit<Extract<Request, { type: T }>, 'type' | 'id'>;

/** Splits a batch frame into one Frame per variant (views, no copies). */
export function splitFrame(b: FrameBatch): Frame[] {
  const n = b.tokens.length / b.batch;
  return b.grids.map((grid, v) => ({
    act: b.act, h: b.h, variant: v,
    tokens: b.tokens.subarray(v * n, (v + 1) * n),
    confidence: b.confidence.subarray(v * n, (v + 1) * n),
    grid, gridConfidence: b.gridConfidence[v],
    qHalt: b.qHalt[v], qContinue: b.qContinue[v], haltHere: b.haltHere[v],
    elapsedMs: b.elapsedMs,
  }));
}

export class TrmEngine {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: { [K in keyof EngineEvents]: Set<Listener<K>> } = {
    notice: new Set(), state: new Set(), backend: new Set(),
  };
  private crashed: Error | undefined;
  /** The loaded model (backend updated on fallback), or undefined. */
  info: ModelInfo | undefined;
  state: RunState = 'idle';
  /** Every notice so far, for a UI that subscribes late. */
  readonly notices: Notice[] = [];

  constructor(worker?: Worker) {
    this.worker = worker ?? new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'trm-engine' });
    this.worker.onmessage = (e: MessageEvent<WorkerEvent>) => this.receive(e.data);
    this.worker.onerror = (e) => this.fail(new WorkerCrashedError(`inference worker failed: ${e.message || 'script error'}`));
    this.worker.onmessageerror = () => this.fail(new WorkerCrashedError('inference worker sent an unreadable message'));
  }

  on<K extends keyof EngineEvents>(type: K, listener: Listener<K>): () => void {
    this.listeners[type].add(listener);
    return () => this.listeners[type].delete(listener);
  }

  probe(): Promise<Probe> {
    return this.request('probe', {});
  }

  async load(url: string, handlers: LoadHandlers = {}): Promise<ModelInfo> {
    const { onProgress, ...options } = handlers;
    // persist() exists only on the window; best effort, the cache works without it.
    void requestPersistence();
    const absolute = new URL(url, globalThis.location?.href).href;
    this.info = await this.request('load', { url: absolute, options }, (e) => {
      if (e.type === 'progress') onProgress?.(e.progress);
    });
    return this.info;
  }

  /** Runs one test input; calls are queued by the worker, so runs never overlap. */
  solve(request: SolveRequest, handlers: SolveHandlers = {}): Promise<SolveResult> {
    return this.request('solve', { request }, (e) => {
      if (e.type === 'started') handlers.onStart?.(e.variants, e.backend);
      else if (e.type === 'frame') {
        handlers.onFrameBatch?.(e.frame);
        if (handlers.onFrame) for (const f of splitFrame(e.frame)) handlers.onFrame(f);
      }
    });
  }

  /**
   * Fits a puzzle row for a task on its demonstrations (network frozen), queued with solves.
   * pause / resume / cancel act on it as on a solve; cancel after at least one step resolves
   * with the best rows so far (stats.cancelled), before any step it rejects with CancelledError.
   * Pass the result as SolveRequest.fitted to solve with it.
   */
  fit(request: FitRequest, handlers: FitHandlers = {}): Promise<FittedRows> {
    return this.request('fit', { request }, (e) => {
      if (e.type === 'fit-progress') handlers.onProgress?.(e.progress);
    });
  }

  /**
   * What a whole-network fit (mode 'full') of the task would cost: memory, and one step
   * measured on its demonstrations × request.steps. Queued like fit; changes nothing.
   */
  fitCost(request: FitRequest): Promise<FitCost> {
    return this.request('fit-cost', { request });
  }

  /** Takes effect before the next block call; resolves with the resulting state. */
  pause(): Promise<RunState> { return this.request('pause', {}); }
  resume(): Promise<RunState> { return this.request('resume', {}); }
  /** Runs until the next frame, then pauses again. */
  step(): Promise<RunState> { return this.request('step', {}); }
  /** The running solve (and queued ones) reject with CancelledError. */
  cancel(): Promise<RunState> { return this.request('cancel', {}); }

  cacheStatus(): Promise<CacheStatus> { return this.request('cache-status', {}); }
  /** Deletes every cached model file; resolves with what it freed. */
  clearCache(): Promise<ClearedCache> { return this.request('clear-cache', {}); }

  /** Releases the sessions and terminates the worker. */
  async dispose(): Promise<void> {
    if (!this.crashed) await this.request('dispose', {}).catch(() => undefined);
    this.fail(new CancelledError('engine disposed'));
    this.worker.terminate();
  }

  private request<T extends RequestType>(type: T, body: Body<T>, onEvent?: (e: WorkerEvent) => void): Promise<ReplyValues[T]> {
    if (this.crashed) return Promise.reject(this.crashed);
    const id = this.nextId++;
    return new Promise<ReplyValues[T]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent });
      this.worker.postMessage({ type, id, ...body } as Request);
    });
  }

  private receive(e: WorkerEvent) {
    switch (e.type) {
      case 'state':
        this.state = e.state;
        return this.emit('state', e.state);
      case 'backend':
        if (this.info) this.info = { ...this.info, backend: e.backend };
        return this.emit('backend', e.backend);
      case 'notice':
        this.notices.push(e.notice);
        return this.emit('notice', e.notice);
      case 'reply': {
        const p = this.pending.get(e.id);
        this.pending.delete(e.id);
        return p?.resolve(e.value);
      }
      case 'error': {
        const p = this.pending.get(e.id);
        this.pending.delete(e.id);
        return p?.reject(deserializeError(e.error));
      }
      default:
        this.pending.get(e.id)?.onEvent?.(e);
    }
  }

  private emit<K extends keyof EngineEvents>(type: K, value: EngineEvents[K]) {
    for (const l of this.listeners[type]) l(value);
  }

  private fail(error: Error) {
    this.crashed = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/** Asks the browser to keep the model cache under storage pressure (window-only API). */
export async function requestPersistence(): Promise<boolean> {
  try {
    const storage = globalThis.navigator?.storage;
    if (!storage?.persist) return false;
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return false;
  }
}
