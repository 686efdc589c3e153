/**
 * Conference mode's driver, free of React: loops through tasks forever, solving each test
 * input 0 with one variant and replaying the recursion's frames at a readable pace (frames
 * arrive as fast as the backend computes them; the audience sees each for `paceMs`), then
 * holds the final prediction for `holdMs` before the next task.
 */
import type { Task } from '../../arc/types.ts';
import type { FrameBatch, ModelInfo, SolveRequest } from '../../engine/protocol.ts';
import type { SolverEngine } from '../../state/model.ts';

export type ConferencePhase = 'loading' | 'solving' | 'done' | 'error';

export interface ConferenceView {
  phase: ConferencePhase;
  task: Task | null;
  /** Tasks started so far in this session (1 for the first). */
  round: number;
  frame: FrameBatch | null;
  /** Frames shown for the current task so far. */
  framesShown: number;
  info: ModelInfo | null;
  error?: string;
}

export interface ConferenceOptions {
  tasks: readonly Task[];
  engine: Pick<SolverEngine, 'solve' | 'cancel'>;
  /** Resolves with the loaded model, loading it first when needed. */
  ensureModel(): Promise<ModelInfo>;
  paceMs: number;
  holdMs: number;
  show(view: ConferenceView): void;
  signal: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });

/** The request a conference round sends: one variant, stopping where the model halts. */
export const conferenceRequest = (task: Task): SolveRequest => ({ task, testIndex: 0, maxVariants: 1, stopAtHalt: true });

/** Runs until `signal` aborts (the running solve is then cancelled) or a solve fails. */
export async function runConference(o: ConferenceOptions): Promise<void> {
  if (o.tasks.length === 0) return o.show({ phase: 'error', task: null, round: 0, frame: null, framesShown: 0, info: null, error: 'no demo tasks to show' });
  let view: ConferenceView = { phase: 'loading', task: null, round: 0, frame: null, framesShown: 0, info: null };
  const show = (patch: Partial<ConferenceView>) => {
    view = { ...view, ...patch };
    if (!o.signal.aborted) o.show(view);
  };
  show({});
  try {
    show({ info: await o.ensureModel() });
    for (let round = 1; !o.signal.aborted; round++) {
      const task = o.tasks[(round - 1) % o.tasks.length];
      show({ phase: 'solving', task, round, frame: null, framesShown: 0 });
      const queue: FrameBatch[] = [];
      let wake: (() => void) | undefined;
      let finished = false;
      const solving = o.engine
        .solve(conferenceRequest(task), { onFrameBatch: (f) => { queue.push(f); wake?.(); } })
        .finally(() => { finished = true; wake?.(); });
      // Awaited below; this branch only keeps a failure from counting as unhandled meanwhile.
      solving.catch(() => undefined);
      const stop = () => void o.engine.cancel().catch(() => undefined);
      o.signal.addEventListener('abort', stop, { once: true });
      let shown = 0;
      while (!o.signal.aborted && !(finished && queue.length === 0)) {
        const frame = queue.shift();
        if (!frame) {
          await new Promise<void>((r) => { wake = r; });
          wake = undefined;
          continue;
        }
        show({ frame, framesShown: ++shown });
        await sleep(o.paceMs, o.signal);
      }
      o.signal.removeEventListener('abort', stop);
      if (o.signal.aborted) return void solving.catch(() => undefined);
      await solving;
      show({ phase: 'done' });
      await sleep(o.holdMs, o.signal);
    }
  } catch (e) {
    if (!o.signal.aborted) show({ phase: 'error', error: (e as Error).message });
  }
}
