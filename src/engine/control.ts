/**
 * Pause / single-step / cancel for runRecursion: its checkpoint() is awaited before every
 * session call, so every command takes effect within one block call. "Step" runs until the
 * next frame (one H-cycle) and pauses again.
 */
import { CancelledError } from './errors.ts';
import type { RunControl } from './recursion.ts';
import type { RunState } from './protocol.ts';

/**
 * Lets queued messages (pause, cancel) run before the next call: ORT's WASM run() can resolve
 * without ever leaving the microtask queue, which would starve the worker's onmessage until the
 * whole solve ended. A MessageChannel message is a task queued behind those already waiting.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

export class RunController implements RunControl {
  private paused: boolean;
  private stepping = false;
  private cancelled = false;
  private wake: (() => void) | undefined;
  /** Time spent held at checkpoints, so timings can leave pauses out. */
  pausedMs = 0;

  constructor(startPaused = false, private readonly onState: (s: RunState) => void = () => {}) {
    this.paused = startPaused;
  }

  get state(): RunState {
    return this.paused && !this.stepping ? 'paused' : 'running';
  }

  async checkpoint(): Promise<void> {
    await yieldToEventLoop();
    while (true) {
      if (this.cancelled) throw new CancelledError('the run was cancelled');
      if (!this.paused || this.stepping) return;
      const since = performance.now();
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.pausedMs += performance.now() - since;
    }
  }

  /** Called by the solve after each frame: a pending single step ends here. */
  frameDone(): void {
    if (!this.stepping) return;
    this.stepping = false;
    this.onState(this.state);
  }

  pause(): RunState {
    this.paused = true;
    this.stepping = false;
    this.onState(this.state);
    return this.state;
  }

  resume(): RunState {
    this.paused = false;
    this.stepping = false;
    this.release();
    return this.state;
  }

  step(): RunState {
    this.paused = true;
    this.stepping = true;
    this.release();
    return this.state;
  }

  cancel(): void {
    this.cancelled = true;
    this.release();
  }

  private release() {
    this.onState(this.state);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
