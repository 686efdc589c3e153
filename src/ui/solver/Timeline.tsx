/**
 * The frame scrubber over ACT steps × H-cycles: a range input labelled "Frame", play/pause,
 * step back/forward, and ← → / space on the page. Its bounds follow the streaming run through
 * a store subscription, so a new frame does not re-render React.
 */
import { useEffect, useRef, useState } from 'react';
import { isTextEntry } from '../editor/useEditorKeys.ts';
import { appStore } from '../useAppStore.ts';
import { frameLabel, shownFrameIndex } from './frameView.ts';
import { useLiveDraw } from './paint.ts';

const PLAY_FPS = 6;

function move(delta: number) {
  const s = appStore.getState();
  const n = s.solve.live?.frames.length ?? 0;
  if (n === 0) return;
  const next = Math.max(0, Math.min(n - 1, shownFrameIndex(s.solve) + delta));
  s.selectFrame(next);
}

export function Timeline() {
  const slider = useRef<HTMLInputElement>(null);
  const label = useRef<HTMLSpanElement>(null);
  const [playing, setPlaying] = useState(false);

  useLiveDraw((s) => {
    const el = slider.current;
    if (!el) return;
    const frames = s.solve.live?.frames ?? [];
    const i = shownFrameIndex(s.solve);
    el.max = String(Math.max(0, frames.length - 1));
    el.value = String(Math.max(0, i));
    el.disabled = frames.length === 0;
    el.setAttribute('aria-valuetext', i < 0 ? 'no frames' : `${i + 1} of ${frames.length}`);
    const c = s.model.info?.config;
    if (label.current) {
      label.current.textContent = i < 0 ? 'no frames yet' :
        `${i + 1}/${frames.length} · ${frameLabel(frames[i], c?.halt_max_steps ?? 0, c?.H_cycles ?? 0)}${s.solve.frame === null && s.solve.live?.status === 'running' ? ' · live' : ''}`;
    }
  }, []);

  useEffect(() => {
    if (!playing) return;
    // Playing from the last frame starts over, like a video player.
    const s = appStore.getState();
    const n = s.solve.live?.frames.length ?? 0;
    if (shownFrameIndex(s.solve) >= n - 1) s.selectFrame(0);
    const timer = setInterval(() => {
      const st = appStore.getState();
      const last = (st.solve.live?.frames.length ?? 0) - 1;
      const i = shownFrameIndex(st.solve);
      if (i >= last && st.solve.live?.status !== 'running') setPlaying(false);
      else move(1);
    }, 1000 / PLAY_FPS);
    return () => clearInterval(timer);
  }, [playing]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || isTextEntry(e.target)) return;
      // A focused range input already moves on arrows; handling it here too would step twice.
      if (e.target === slider.current && e.key !== ' ') return;
      if (!appStore.getState().solve.live?.frames.length) return;
      if (e.key === 'ArrowLeft') move(-1);
      else if (e.key === 'ArrowRight') move(1);
      else if (e.key === ' ' && !(e.target instanceof HTMLButtonElement)) setPlaying((p) => !p);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="timeline" role="group" aria-label="Timeline">
      <button type="button" aria-label="Step back" title="Step back (←)" onClick={() => move(-1)}>
        ◀
      </button>
      <button type="button" aria-label={playing ? 'Pause' : 'Play'} title="Play / pause (space)" onClick={() => setPlaying((p) => !p)}>
        {playing ? '❚❚' : '▶'}
      </button>
      <button type="button" aria-label="Step forward" title="Step forward (→)" onClick={() => move(1)}>
        ▶▏
      </button>
      <label className="timeline-slider">
        Frame
        <input
          ref={slider}
          type="range"
          min={0}
          defaultValue={0}
          step={1}
          onChange={(e) => appStore.getState().selectFrame(Number(e.target.value))}
        />
      </label>
      <span ref={label} className="muted small timeline-label" aria-live="off" />
      <button type="button" title="Follow the newest frame" onClick={() => appStore.getState().selectFrame(null)}>
        Latest
      </button>
    </div>
  );
}
