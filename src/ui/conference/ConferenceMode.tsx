/**
 * Conference mode: a full-screen presentation that loops through the demo tasks, solving each
 * with the recursion shown step by step on large canvases (test input, the model's current
 * answer with the cells that just changed lit up) under a one-line caption: task, step,
 * H-cycle, q_halt. Any key (or leaving full screen) returns to the normal view.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useStore } from 'zustand';
import { demoTasks } from '../../arc/demo/index.ts';
import type { Grid } from '../../arc/types.ts';
import { sigmoid } from '../../arc/vote.ts';
import type { ModelInfo } from '../../engine/protocol.ts';
import { changedMask, frameLabel } from '../solver/frameView.ts';
import { paintGrid } from '../solver/paint.ts';
import { appStore } from '../useAppStore.ts';
import { runConference, type ConferenceView } from './loop.ts';
import { conferenceStore, HOLD_FRAMES, setConference } from './state.ts';
import './conference.css';

async function ensureModel(): Promise<ModelInfo> {
  const s = appStore.getState();
  if (s.model.status === 'ready' && s.model.info) return s.model.info;
  const info = await s.loadModel(s.model.url);
  if (!info) throw new Error(`could not load the model: ${appStore.getState().model.error}`);
  return info;
}

function useViewport() {
  const [size, setSize] = useState({ width: window.innerWidth, height: window.innerHeight });
  useEffect(() => {
    const onResize = () => setSize({ width: window.innerWidth, height: window.innerHeight });
    window.addEventListener('resize', onResize);
    return () => window.removeEventListener('resize', onResize);
  }, []);
  return size;
}

function BigGrid({ grid, previous, label, width, height }: { grid: Grid | null; previous?: Grid; label: string; width: number; height: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useLayoutEffect(() => {
    if (!ref.current) return;
    // Numbers would be noise from the back of a hall.
    const settings = { ...appStore.getState().settings, showNumbers: false };
    paintGrid(ref.current, grid ?? [], settings, {
      maxWidth: width, maxHeight: height, maxCell: 72, minCell: 4,
      highlight: grid && previous ? { mask: changedMask(previous, grid), color: 'rgba(255,255,255,0.45)' } : undefined,
    });
  }, [grid, previous, width, height]);
  return (
    <figure className="conference-grid">
      <canvas ref={ref} role="img" aria-label={label} data-grid={grid ? JSON.stringify(grid) : ''} />
      <figcaption>{label}</figcaption>
    </figure>
  );
}

function Caption({ view }: { view: ConferenceView }) {
  const c = view.info?.config;
  if (view.phase === 'error') return <p className="conference-caption error">{view.error}</p>;
  if (!view.task || !c) return <p className="conference-caption">Loading the model…</p>;
  const f = view.frame;
  return (
    <p className="conference-caption">
      <strong>{view.task.id}</strong>
      {f ? (
        <>
          <span>{frameLabel(f, c.halt_max_steps, c.H_cycles)}</span>
          <span>q_halt {sigmoid(f.qHalt[0]).toFixed(2)}</span>
        </>
      ) : (
        <span>starting…</span>
      )}
      {view.phase === 'done' && <span className="conference-done">{f?.haltHere[0] ? 'halted' : 'done'}</span>}
    </p>
  );
}

function Presentation() {
  const paceMs = useStore(conferenceStore, (s) => s.paceMs);
  const [view, setView] = useState<ConferenceView | null>(null);
  const [previous, setPrevious] = useState<Grid | undefined>(undefined);
  const rootRef = useRef<HTMLDivElement>(null);
  const { width, height } = useViewport();

  useEffect(() => {
    const controller = new AbortController();
    let last: ConferenceView | null = null;
    void runConference({
      tasks: demoTasks,
      engine: appStore.getState().engine(),
      ensureModel,
      paceMs,
      holdMs: paceMs * HOLD_FRAMES,
      signal: controller.signal,
      show: (v) => {
        // The previous frame of the same task, for the changed-cells highlight.
        setPrevious(last && last.task === v.task && last.frame !== v.frame ? last.frame?.grids[0] : undefined);
        last = v;
        setView(v);
      },
    });
    return () => controller.abort();
  }, [paceMs]);

  useEffect(() => {
    const el = rootRef.current;
    // Full screen needs the user's click; opened from the address it simply fills the window.
    if (el && !document.fullscreenElement) el.requestFullscreen?.().catch(() => undefined);
    const onKey = (e: KeyboardEvent) => {
      e.preventDefault();
      e.stopImmediatePropagation();
      setConference(false);
    };
    const onFullscreen = () => {
      if (!document.fullscreenElement) setConference(false);
    };
    window.addEventListener('keydown', onKey, { capture: true });
    document.addEventListener('fullscreenchange', onFullscreen);
    return () => {
      window.removeEventListener('keydown', onKey, { capture: true });
      document.removeEventListener('fullscreenchange', onFullscreen);
      if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    };
  }, []);

  const test = view?.task?.test[0];
  const gridWidth = width * 0.44;
  const gridHeight = height * 0.72;
  return (
    <div
      ref={rootRef}
      className="conference"
      role="dialog"
      aria-modal="true"
      aria-label="Conference mode"
      data-phase={view?.phase ?? 'loading'}
      data-task={view?.task?.id ?? ''}
      data-round={view?.round ?? 0}
      data-frames-shown={view?.framesShown ?? 0}
    >
      {view && <Caption view={view} />}
      <div className="conference-grids">
        <BigGrid grid={test?.input ?? null} label="Test input" width={gridWidth} height={gridHeight} />
        <BigGrid grid={view?.frame?.grids[0] ?? null} previous={previous} label="Model's answer" width={gridWidth} height={gridHeight} />
      </div>
      <p className="conference-hint">TRM Studio · a Tiny Recursive Model thinking, one recursion step at a time · press any key to leave</p>
    </div>
  );
}

export function ConferenceMode() {
  const active = useStore(conferenceStore, (s) => s.active);
  return active ? <Presentation /> : null;
}

export function ConferenceButton() {
  return (
    <button type="button" onClick={() => setConference(true)} title="Full-screen presentation that loops through the demo tasks; any key returns">
      Conference mode
    </button>
  );
}
