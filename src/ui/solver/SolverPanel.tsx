/**
 * The solver: run the engine on a test input (or all of a task's, or every loaded task's),
 * watch the recursion stream in, read the vote, score against known solutions, export the
 * Kaggle submission and a video of the run.
 */
import { useState } from 'react';
import type { Task } from '../../arc/types.ts';
import { fitAccuracy, fittedFor, isFitting } from '../../state/fit.ts';
import { resultKey, scoreSummary, type BatchProgress } from '../../state/solve.ts';
import { appStore, useAppStore } from '../useAppStore.ts';
import { canRecordVideo, downloadBlob, recordRunVideo, submissionFor } from './export.ts';
import { FitPanel } from './FitPanel.tsx';
import { EmbeddingBanner } from './ModelPanel.tsx';
import { Visualizer } from './Visualizer.tsx';
import { VoteTable } from './VoteTable.tsx';
import './solver.css';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function SolveControls({ task }: { task: Task }) {
  const options = useAppStore((s) => s.solve.options);
  const busy = useAppStore((s) => s.solve.live?.status === 'running' || s.solve.batch?.running === true);
  // Fitting and solving share the worker: no solve starts while a fit runs.
  const fitting = useAppStore(isFitting);
  const runState = useAppStore((s) => s.model.runState);
  const [testIndex, setTestIndex] = useState(0);
  const index = Math.min(testIndex, task.test.length - 1);
  const s = () => appStore.getState();
  return (
    <div className="solve-controls row">
      {task.test.length > 1 && (
        <label className="small">
          Test input
          <select value={index} onChange={(e) => setTestIndex(Number(e.target.value))}>
            {task.test.map((_, i) => <option key={i} value={i}>{i + 1}</option>)}
          </select>
        </label>
      )}
      <label className="small">
        Variants
        <input
          type="number" min={1} max={64} value={options.variants} aria-label="Variants"
          onChange={(e) => s().setSolveOptions({ variants: Math.max(1, Math.min(64, Math.round(Number(e.target.value)) || 1)) })}
        />
      </label>
      <label className="small" title="Upstream always runs every ACT step; this stops once every variant would halt">
        <input type="checkbox" checked={options.stopAtHalt} onChange={(e) => s().setSolveOptions({ stopAtHalt: e.target.checked })} /> stop at halt
      </label>
      <button type="button" className="primary" disabled={busy || fitting} title={fitting ? 'a fit is running' : undefined} onClick={() => void s().solveInput(task, index)}>
        Solve{task.test.length > 1 ? ` test ${index + 1}` : ''}
      </button>
      {task.test.length > 1 && (
        <button type="button" disabled={busy || fitting} onClick={() => void s().solveTask(task)}>
          Solve every test input
        </button>
      )}
      {busy && (
        <>
          {runState === 'paused' ? (
            <button type="button" onClick={() => void s().engine().resume()}>Resume</button>
          ) : (
            <button type="button" onClick={() => void s().engine().pause()}>Pause</button>
          )}
          <button type="button" onClick={() => void s().engine().step()} disabled={runState !== 'paused'}>Step H-cycle</button>
          <button type="button" className="danger" onClick={() => void s().cancelSolve()}>Cancel</button>
        </>
      )}
    </div>
  );
}

function LiveStatus() {
  const live = useAppStore((s) => s.solve.live);
  const modelStatus = useAppStore((s) => s.model.status);
  const fitted = useAppStore((s) => (s.solve.live ? fittedFor(s, s.solve.live.taskId) : undefined));
  if (!live) return null;
  const source = live.variants[0]?.source;
  const rows = source !== 'fitted' ? '' : fitted?.weights
    ? ` Using fine-tuned network (demo accuracy ${fitAccuracy(fitted.stats)}).`
    : ` Using the fitted row${fitted ? ` (demo accuracy ${fitAccuracy(fitted.stats)})` : ''}.`;
  const text =
    live.status === 'running' ? (modelStatus === 'loading' ? 'Loading the model…' : `Solving ${live.taskId} test ${live.testIndex + 1}…${rows}`) :
    live.status === 'done' ? `Solved ${live.taskId} test ${live.testIndex + 1}.${rows}` :
    live.status === 'cancelled' ? 'Cancelled.' : `Failed: ${live.error}`;
  return <p className={`small ${live.status === 'error' ? 'error' : ''}`} data-run-status={live.status} data-row-source={source ?? ''} aria-live="polite">{text}</p>;
}

function BatchBar({ batch }: { batch: BatchProgress | null }) {
  if (!batch) return null;
  const now = Date.now();
  return (
    <div className="batch" aria-label="Batch progress">
      <progress max={batch.inputsTotal} value={batch.inputsDone} aria-label="Solve all progress" />
      <span className="small" data-tasks-done={batch.tasksDone} data-tasks-total={batch.tasksTotal}>
        {batch.tasksDone}/{batch.tasksTotal} tasks · {batch.inputsDone}/{batch.inputsTotal} test inputs
        {batch.running && batch.etaMs !== null && ` · about ${formatDuration(batch.etaMs)} left`}
        {batch.running && ` · ${formatDuration(now - batch.startedAt)} so far`}
        {!batch.running && (batch.stopped ? ` · stopped (${batch.stopped}); Solve all resumes` : ' · done')}
      </span>
    </div>
  );
}

function Summary() {
  const tasks = useAppStore((s) => s.tasks);
  const results = useAppStore((s) => s.solve.results);
  const summary = scoreSummary(tasks, results);
  const solvedInputs = tasks.reduce((n, t) => n + t.test.filter((_, i) => results[resultKey(t.id, i)]).length, 0);
  const inputs = tasks.reduce((n, t) => n + t.test.length, 0);
  return (
    <p className="small summary" data-pass1={summary.passAt[1]} data-pass2={summary.passAt[2]} data-scored={summary.scored}>
      {solvedInputs}/{inputs} test inputs solved.{' '}
      {summary.scored > 0
        ? <>Over the {summary.scored} loaded tasks with solutions: <strong>pass@1 {pct(summary.passAt[1])}</strong>, <strong>pass@2 {pct(summary.passAt[2])}</strong> (unsolved inputs count as wrong).</>
        : 'No loaded task has solutions to score against.'}
    </p>
  );
}

function Exports() {
  const [note, setNote] = useState('');
  const canVideo = useAppStore((s) => (s.solve.live?.frames.length ?? 0) > 0 && s.solve.live?.status !== 'running');
  const exportSubmission = () => {
    const s = appStore.getState();
    const { submission, placeholders } = submissionFor(s.tasks, s.solve.results);
    downloadBlob(new Blob([JSON.stringify(submission)], { type: 'application/json' }), 'submission.json');
    setNote(placeholders.length === 0 ? 'submission.json: every test input has attempts.' :
      `submission.json: ${placeholders.length} test input(s) without a prediction got the blank placeholder [[0]]: ` +
      placeholders.slice(0, 8).map((p) => `${p.taskId} test ${p.testIndex + 1}`).join(', ') + (placeholders.length > 8 ? ', …' : ''));
  };
  const exportVideo = async () => {
    const s = appStore.getState();
    const live = s.solve.live!;
    const c = s.model.info?.config;
    setNote('Recording the run…');
    try {
      const blob = await recordRunVideo({
        frames: live.frames, variant: s.solve.variant, settings: s.settings, steps: c?.halt_max_steps ?? 0, hCycles: c?.H_cycles ?? 0,
      });
      downloadBlob(blob, `${live.taskId}-test${live.testIndex + 1}-recursion.webm`);
      setNote(`Recorded ${live.frames.length} frames (${(blob.size / 1024).toFixed(0)} KB WebM).`);
    } catch (e) {
      setNote(`Could not record: ${(e as Error).message}`);
    }
  };
  return (
    <>
      <div className="row">
        <button type="button" onClick={exportSubmission}>Export submission</button>
        {canRecordVideo() && <button type="button" disabled={!canVideo} onClick={() => void exportVideo()}>Export video (WebM)</button>}
        <button type="button" className="danger" onClick={() => appStore.getState().clearResults()}>Clear results</button>
      </div>
      {note && <p className="small muted" data-export-note aria-live="polite">{note}</p>}
    </>
  );
}

export function SolverPanel() {
  const task = useAppStore((s) => s.tasks.find((t) => t.id === s.selectedTaskId) ?? null);
  const batch = useAppStore((s) => s.solve.batch);
  const busy = useAppStore((s) => s.solve.live?.status === 'running' || s.solve.batch?.running === true || isFitting(s));
  return (
    <section className="panel solver-panel" aria-label="Solver">
      <h3>Solver</h3>
      {task ? (
        <>
          <EmbeddingBanner taskId={task.id} />
          <FitPanel task={task} />
          <SolveControls task={task} />
        </>
      ) : (
        <p className="muted small">Open a task to solve it, or solve every loaded task at once.</p>
      )}
      <LiveStatus />
      <Visualizer />
      {task && task.test.map((_, i) => <VoteTable key={`${task.id}#${i}`} task={task} testIndex={i} />)}
      <h4>All loaded tasks</h4>
      <div className="row">
        <button type="button" disabled={busy} onClick={() => void appStore.getState().solveAll()}>Solve all</button>
        {batch?.running && <button type="button" className="danger" onClick={() => void appStore.getState().cancelSolve()}>Cancel</button>}
      </div>
      <BatchBar batch={batch} />
      <Summary />
      <Exports />
    </section>
  );
}
