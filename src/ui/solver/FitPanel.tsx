/**
 * "Fit this task": trains a puzzle row for a task the loaded model has no rows for (issue 9),
 * with the loss curve, step, time and demonstration accuracy streaming in, pause / cancel, and
 * refit / remove once rows are stored. The curve and its caption are painted from a store
 * subscription (a step can arrive every few milliseconds), not from React renders.
 */
import { useEffect, useRef } from 'react';
import type { Task } from '../../arc/types.ts';
import { FIT_VARIANT_CHOICES, fitAccuracy, fitCostText, fitKey, fitProblem, fittedFor, isFitting, MAX_FIT_STEPS, type FitLive, type FitMode, type FittedRecord } from '../../state/fit.ts';
import { embeddingStatus } from '../../state/model.ts';
import { resultKey } from '../../state/solve.ts';
import type { AppState } from '../../state/store.ts';
import { appStore, useAppStore } from '../useAppStore.ts';
import { useStoreDraw } from './paint.ts';

const W = 360, H = 120, PAD = { l: 40, r: 8, t: 10, b: 22 };

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** What the chart shows for the task: the live fit of this task, else the stored record's curve. */
function curveOf(s: AppState, taskId: string): { live: FitLive | null; record: FittedRecord | undefined; losses: number[] } {
  const live = s.fit.live?.taskId === taskId && s.fit.live.key ? s.fit.live : null;
  const record = fittedFor(s, taskId);
  return { live, record, losses: live?.losses ?? record?.losses ?? [] };
}

function drawLoss(el: HTMLCanvasElement, losses: number[], steps: number) {
  const ctx = el.getContext('2d');
  if (!ctx) return;
  const dpr = window.devicePixelRatio || 1;
  el.width = W * dpr;
  el.height = H * dpr;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.strokeStyle = '#555b6b';
  ctx.lineWidth = 1;
  ctx.strokeRect(PAD.l, PAD.t, W - PAD.l - PAD.r, H - PAD.t - PAD.b);
  ctx.fillStyle = '#9aa1b2';
  ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText('fitting step', (W + PAD.l) / 2, H - PAD.b + 8);
  if (losses.length === 0) return;
  const finite = losses.filter(Number.isFinite);
  const hi = Math.max(...finite), lo = Math.min(0, ...finite);
  const span = hi - lo || 1;
  const n = Math.max(steps, losses.length);
  const x = (i: number) => PAD.l + (n <= 1 ? 0 : (i / (n - 1)) * (W - PAD.l - PAD.r));
  const y = (v: number) => PAD.t + (1 - (v - lo) / span) * (H - PAD.t - PAD.b);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of [lo, hi]) ctx.fillText(v.toFixed(v >= 10 ? 1 : 3), PAD.l - 4, y(v));
  ctx.strokeStyle = '#4fa3ff';
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
  ctx.stroke();
}

/** Loss chart + progress line for one task, repainted on each streamed step. */
function FitProgressView({ taskId }: { taskId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const caption = useRef<HTMLParagraphElement>(null);
  useStoreDraw((s) => {
    const { live, record } = curveOf(s, taskId);
    return [live, record, s.model.runState];
  }, (s) => {
    const { live, record, losses } = curveOf(s, taskId);
    const el = canvas.current;
    if (!el) return;
    drawLoss(el, losses, live?.steps ?? record?.stats.steps ?? losses.length);
    // Numbers for tests and for reading off: the first and latest streamed loss.
    el.dataset.steps = String(losses.length);
    el.dataset.firstLoss = losses.length ? String(losses[0]) : '';
    el.dataset.lastLoss = losses.length ? String(losses[losses.length - 1]) : '';
    if (!caption.current) return;
    const p = live?.last, sc = live?.scored;
    if (live?.status === 'running') {
      const paused = s.model.runState === 'paused';
      caption.current.textContent = !p ? 'Preparing the fit…' :
        `${paused ? 'Paused at ' : ''}step ${p.step}/${p.steps} · loss ${p.loss.toFixed(4)} · ${seconds(p.elapsedMs)} · ` +
        `demo accuracy ${sc ? `${sc.trainCorrect}/${sc.trainTotal} (step ${sc.step})` : `–/${p.trainTotal} (not scored yet)`}` +
        (p.heldOutTotal > 0 ? ` · held out ${sc?.heldOutCorrect ?? '–'}/${p.heldOutTotal}` : '');
    } else if (record && (!live || live.status === 'done' || live.status === 'cancelled')) {
      const st = record.stats;
      caption.current.textContent = `Fitted ${st.mode === 'full' ? 'the whole network, ' : ''}${(st.variants ?? 1) > 1 ? `${st.variants} variants, ` : ''}${st.steps} steps (${st.optimizer}) in ${seconds(st.ms)}${st.cancelled ? ', cancelled: best row so far' : ''}: ` +
        `loss ${st.loss_before.toFixed(4)} → ${st.loss_after.toFixed(4)}, demo accuracy ${fitAccuracy(st)} (best at step ${st.best_step}).`;
    } else {
      caption.current.textContent = losses.length ? `${losses.length} steps ran.` : '';
    }
  }, [taskId]);
  return (
    <figure className="fit-chart">
      <figcaption className="small">Fitting loss (mean over the demonstrations) per step</figcaption>
      <canvas ref={canvas} role="img" aria-label="Fitting loss chart" style={{ width: W, height: H }} />
      <p ref={caption} className="small" aria-live="polite" data-fit-caption />
    </figure>
  );
}

export function FitPanel({ task }: { task: Task }) {
  const info = useAppStore((s) => s.model.info);
  const options = useAppStore((s) => s.fit.options);
  const record = useAppStore((s) => fittedFor(s, task.id));
  const unsaved = useAppStore((s) => (info ? s.fit.unsaved[fitKey(info.name, task.id)] : undefined));
  const liveStatus = useAppStore((s) => (s.fit.live?.taskId === task.id ? s.fit.live.status : null));
  const liveMessage = useAppStore((s) => (s.fit.live?.taskId === task.id ? s.fit.live.message : undefined));
  const fitting = useAppStore(isFitting);
  const solving = useAppStore((s) => s.solve.live?.status === 'running' || s.solve.batch?.running === true);
  const runState = useAppStore((s) => s.model.runState);
  const ranWith = useAppStore((s) => s.solve.results[resultKey(task.id, 0)]?.variants[0]?.source);
  const cost = useAppStore((s) => (s.fit.cost?.taskId === task.id ? s.fit.cost : null));
  const canFull = !!info?.canFitFull;
  const mode: FitMode = canFull ? options.mode : 'row';
  // The cost is measured by the worker (one real step on this task) whenever the choice or its inputs change.
  useEffect(() => {
    if (mode === 'full' && !fitting && !solving) void appStore.getState().estimateFitCost(task);
  }, [mode, task, options.steps, options.holdOut, options.variants, info?.name, fitting, solving]);
  if (!info) return null;
  const status = embeddingStatus(info, task.id, ranWith, !!record);
  if (status === 'trained' || status === 'table') return null;
  const problem = fitProblem(task, info, mode);
  const s = () => appStore.getState();
  const fittingThis = fitting && liveStatus === 'running';
  // data-*: the stored fit's figures (loss from a fresh carry before/after, time), for reading off and for tests.

  return (
    <section
      className="fit-panel" aria-label="Fit this task" data-fit-status={liveStatus ?? (record ? 'stored' : 'none')}
      data-loss-before={record?.stats.loss_before} data-loss-after={record?.stats.loss_after}
      data-fit-steps={record?.stats.steps} data-fit-ms={record?.stats.ms} data-train-exact={record?.stats.train_exact}
      data-fit-mode={record?.stats.mode} data-fit-variants={record?.variants.length}
    >
      <h4>Fit a puzzle row for {task.id}</h4>
      {problem ? (
        // A model without a gradient graph is a fact about the model, not an error of this task.
        <p className={info.canFit ? 'banner warn small' : 'muted small'} role={info.canFit ? 'alert' : undefined} data-fit-problem>
          {problem[0].toUpperCase() + problem.slice(1)}.
        </p>
      ) : (
        <>
          <p className="muted small">
            {mode === 'full'
              ? `Fine-tunes every weight of the network together with a new puzzle row on the task's ${task.train.length} demonstrations, in the worker. Solve then runs this task on its own fine-tuned network (fp32).`
              : `Trains a new puzzle embedding row on the task's ${task.train.length} demonstrations with the network frozen, in the worker. Solve then uses the row.`}
          </p>
          <div className="row fit-controls">
            <label className="small">
              Mode
              <select
                value={mode} disabled={fitting} aria-label="Fitting mode"
                title={canFull ? undefined : 'this model has no whole-network fine-tuning graph (fit_full.onnx)'}
                onChange={(e) => s().setFitOptions({ mode: e.target.value as FitMode })}
              >
                <option value="row">Row only (fast)</option>
                {canFull && <option value="full">Whole network</option>}
              </select>
            </label>
            <label className="small">
              Steps
              <input
                type="number" min={1} max={MAX_FIT_STEPS} value={options.steps} aria-label="Fitting steps" disabled={fitting}
                onChange={(e) => s().setFitOptions({ steps: Number(e.target.value) })}
              />
            </label>
            <label className="small" title="one row per augmented variant (dihedral transform + colour permutation); Solve votes over them">
              Variants
              <select
                // Named without "variants": e2e tests find the solver's own Variants box by a non-exact label.
                value={options.variants} disabled={fitting} aria-label="Augmented rows to fit"
                onChange={(e) => s().setFitOptions({ variants: Number(e.target.value) })}
              >
                {FIT_VARIANT_CHOICES.map((k) => <option key={k} value={k}>{k}</option>)}
              </select>
            </label>
            {options.variants > 1 && <span className="muted small" data-fit-variants-hint>a step costs about {options.variants}× as much</span>}
            <label className="small" title={task.train.length < 2 ? 'needs at least 2 demonstrations' : 'fit on the others, report accuracy on it'}>
              <input
                type="checkbox" checked={options.holdOut && task.train.length >= 2} disabled={fitting || task.train.length < 2}
                onChange={(e) => s().setFitOptions({ holdOut: e.target.checked })}
              /> hold out 1 demonstration
            </label>
            <label className="small">
              Optimizer
              <select value={mode === 'full' ? 'adam' : options.optimizer} disabled={fitting || mode === 'full'} aria-label="Optimizer" onChange={(e) => s().setFitOptions({ optimizer: e.target.value as 'adam' | 'sign' })}>
                <option value="adam">Adam</option>
                <option value="sign">sign-SGD</option>
              </select>
            </label>
            <button type="button" className="primary" disabled={fitting || solving} onClick={() => void s().fitTask(task)}>
              {record ? 'Refit' : 'Fit this task'}
            </button>
            {mode === 'full' && (
              <span className={`small ${cost?.status === 'error' ? 'error' : 'muted'}`} data-fit-cost={cost?.status ?? 'none'} data-fit-cost-ms={cost?.cost?.estimatedMs}>
                {cost?.status === 'ready' && cost.cost ? `${fitCostText(cost.cost)} (one step measured: ${cost.cost.msPerStep.toFixed(0)} ms on ${cost.cost.backend})` :
                  cost?.status === 'error' ? `Cannot estimate: ${cost.message}` : 'Measuring one step…'}
              </span>
            )}
            {fittingThis && (
              <>
                {runState === 'paused' ? (
                  <button type="button" onClick={() => void s().engine().resume()}>Resume fit</button>
                ) : (
                  <button type="button" onClick={() => void s().engine().pause()}>Pause fit</button>
                )}
                <button type="button" className="danger" onClick={() => void s().cancelFit()}>Cancel fit</button>
              </>
            )}
            {record && !fitting && (
              <button type="button" className="danger" onClick={() => void s().removeFitted(record.model, task.id)}>Remove fitted {record.weights ? 'network' : 'row'}</button>
            )}
          </div>
        </>
      )}
      {(liveStatus === 'error' || liveStatus === 'cancelled') && liveMessage && (
        <p className={`small ${liveStatus === 'error' ? 'error' : ''}`} role={liveStatus === 'error' ? 'alert' : undefined} data-fit-message>
          {liveStatus === 'error' ? `Fitting failed: ${liveMessage}` : liveMessage}
        </p>
      )}
      {unsaved && <p className="small error" role="alert" data-fit-unsaved>Not saved: {unsaved}.</p>}
      {(liveStatus === 'running' || liveStatus === 'done' || liveStatus === 'cancelled' || record) && <FitProgressView taskId={task.id} />}
    </section>
  );
}
