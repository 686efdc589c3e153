/** Start page: the built-in demo tasks as cards, plus how to bring your own. */
import type { Task } from '../../arc/types.ts';
import { MAX_FILE_BYTES } from '../../arc/parse.ts';
import { isDemoTask } from '../../state/tasks.ts';
import { GridCanvas } from '../grid/GridCanvas.tsx';
import { appStore, useAppStore } from '../useAppStore.ts';
import { taskSummary } from './TaskList.tsx';

function Card({ task }: { task: Task }) {
  const solved = useAppStore((s) => s.solved[task.id] === true);
  const first = task.train[0];
  return (
    <li>
      <button type="button" className="card" onClick={() => appStore.getState().selectTask(task.id)} aria-label={`Open task ${task.id}`}>
        <span className="card-grids">
          <GridCanvas grid={first.input} label={`${task.id} example input`} maxHeight={110} maxCell={18} minCell={3} />
          <span className="arrow" aria-hidden>
            →
          </span>
          <GridCanvas grid={first.output} label={`${task.id} example output`} maxHeight={110} maxCell={18} minCell={3} />
        </span>
        <span className="card-title">
          {task.id} {solved && <span className="badge ok">✓</span>}
        </span>
        <span className="muted small">{taskSummary(task)}</span>
      </button>
    </li>
  );
}

export function Gallery() {
  const demos = useAppStore((s) => s.tasks).filter(isDemoTask);
  return (
    <section className="gallery" aria-label="Demo tasks">
      <header>
        <h2>Demo tasks</h2>
        <p className="muted">
          Small ARC-style puzzles made for TRM Studio. Pick one to try it yourself, or bring real ARC tasks: open task files,
          drop them anywhere on this page, or paste JSON with Ctrl+V. Single task files, Kaggle combined challenges files and
          their solutions files are accepted (up to {MAX_FILE_BYTES / 1024 / 1024} MB each).
        </p>
      </header>
      <ul className="cards">
        {demos.map((t) => (
          <Card key={t.id} task={t} />
        ))}
      </ul>
    </section>
  );
}
