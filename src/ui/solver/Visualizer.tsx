/**
 * The live recursion: the shown variant's de-augmented prediction at the shown frame (cells that
 * changed since the previous frame outlined, or per-cell confidence as opacity), its accuracy
 * against the solution when one is known, every variant's prediction side by side, the timeline
 * and the q_halt chart. All canvases are painted from store subscriptions.
 */
import { useRef, useState } from 'react';
import { sigmoid } from '../../arc/vote.ts';
import type { AppState } from '../../state/store.ts';
import { appStore, useAppStore } from '../useAppStore.ts';
import { accuracy, changedMask, flatten, frameLabel, shownFrameIndex } from './frameView.ts';
import { paintGrid, useLiveDraw } from './paint.ts';
import { QChart } from './QChart.tsx';
import { Timeline } from './Timeline.tsx';

type View = 'changes' | 'confidence';

function solutionOf(s: AppState) {
  const live = s.solve.live;
  return live && s.tasks.find((t) => t.id === live.taskId)?.test[live.testIndex]?.output;
}

export function Visualizer() {
  const [view, setView] = useState<View>('changes');
  const main = useRef<HTMLCanvasElement>(null);
  const info = useRef<HTMLParagraphElement>(null);
  const strip = useRef<HTMLDivElement>(null);
  const variants = useAppStore((s) => s.solve.live?.variants);
  const selected = useAppStore((s) => s.solve.variant);
  const hasLive = useAppStore((s) => s.solve.live !== null);

  useLiveDraw((s) => {
    const canvas = main.current;
    if (!canvas) return;
    const frames = s.solve.live?.frames ?? [];
    const i = shownFrameIndex(s.solve);
    if (i < 0) {
      paintGrid(canvas, [], s.settings, { maxWidth: 0, maxHeight: 0 });
      canvas.dataset.frame = '';
      canvas.dataset.grid = '';
      if (info.current) info.current.textContent = s.solve.live?.status === 'running' ? 'Waiting for the first frame…' : '';
      return;
    }
    const f = frames[i];
    const v = Math.min(s.solve.variant, f.batch - 1);
    const grid = f.grids[v];
    const prev = i > 0 ? frames[i - 1].grids[v] : undefined;
    paintGrid(canvas, grid, s.settings, {
      maxWidth: 420, maxHeight: 420, maxCell: 40,
      ...(view === 'confidence'
        ? { alpha: flatten(f.gridConfidence[v]) }
        : { highlight: { mask: changedMask(prev, grid), color: 'rgba(255,255,255,0.45)' } }),
    });
    canvas.dataset.frame = String(i);
    canvas.dataset.grid = JSON.stringify(grid);
    canvas.setAttribute('aria-label', `Prediction of variant ${v + 1} at frame ${i + 1}, ${grid.length}×${grid[0]?.length ?? 0}`);

    const c = s.model.info?.config;
    const parts = [frameLabel(f, c?.halt_max_steps ?? 0, c?.H_cycles ?? 0), `sigmoid(q_halt) ${sigmoid(f.qHalt[v]).toFixed(3)}`];
    if (grid.length === 0) parts.push('empty prediction (the canvas does not start with a colour)');
    const changed = changedMask(prev, grid).reduce((a, b) => a + b, 0);
    if (prev) parts.push(`${changed} cell${changed === 1 ? '' : 's'} changed`);
    const solution = solutionOf(s);
    if (solution) {
      const a = accuracy(grid, solution);
      parts.push(a.exact ? 'matches the solution ✓' : a.sameShape ? `${a.matching}/${a.total} cells match the solution` : 'shape differs from the solution');
    }
    if (info.current) info.current.textContent = parts.join(' · ');

    // Every variant, back in the task's frame, at the same H-cycle.
    strip.current?.querySelectorAll('canvas').forEach((el, k) => {
      if (k < f.batch) paintGrid(el, f.grids[k], s.settings, { maxWidth: 110, maxHeight: 110, maxCell: 12, minCell: 1 });
      el.dataset.grid = k < f.batch ? JSON.stringify(f.grids[k]) : '';
      const q = el.parentElement?.querySelector('.q');
      if (q) q.textContent = k < f.batch ? `q ${sigmoid(f.qHalt[k]).toFixed(2)}` : '';
    });
  }, [view, variants, hasLive]);

  if (!hasLive) return null;
  return (
    <div className="visualizer">
      <div className="visualizer-main">
        <div className="visualizer-grid">
          <canvas ref={main} className="prediction" role="img" aria-label="Prediction" />
          <p ref={info} className="small frame-info" aria-live="off" />
          <div className="row small" role="radiogroup" aria-label="Cell view">
            <label><input type="radio" name="cell-view" checked={view === 'changes'} onChange={() => setView('changes')} /> changed cells</label>
            <label><input type="radio" name="cell-view" checked={view === 'confidence'} onChange={() => setView('confidence')} /> confidence</label>
          </div>
        </div>
        <QChart />
      </div>
      <Timeline />
      {variants && variants.length > 0 && (
        <section aria-label="Variants">
          <h4>Variants <span className="muted small">each prediction de-augmented back to the task's frame; click to show it above</span></h4>
          <div ref={strip} className="variant-strip">
            {variants.map((v, k) => (
              <button
                type="button"
                key={v.name}
                className={`variant${k === selected ? ' selected' : ''}`}
                aria-pressed={k === selected}
                title={v.name}
                onClick={() => appStore.getState().selectVariant(k)}
              >
                <canvas aria-label={`Variant ${k + 1} prediction`} />
                <span className="small">{k === 0 && v.tid === 0 ? 'original' : `t${v.tid} · ${v.perm.join('')}`}</span>
                <span className="small muted q" />
                {v.source === 'blank' && <span className="small muted">blank row</span>}
              </button>
            ))}
          </div>
        </section>
      )}
    </div>
  );
}
