/** One task: every train pair (input → output) and each test input with its output editor. */
import type { CSSProperties } from 'react';
import { gridSizeLabel } from '../../arc/grid.ts';
import type { Grid, Task } from '../../arc/types.ts';
import { isDemoTask } from '../../state/tasks.ts';
import { Editor } from '../editor/Editor.tsx';
import { GridCanvas } from '../grid/GridCanvas.tsx';
import { appStore, useAppStore } from '../useAppStore.ts';
import { taskSummary } from './TaskList.tsx';

/** Aims at ~12px cells, so pairs of big grids take a row of their own and small ones share. */
const PAIR_CELL = 12;
/**
 * Columns in proportion to grid widths give input and output the same cell size, so a 3×3 → 9×9
 * pair reads as a scale-up; the floor of 4 keeps captions of 1-column grids readable.
 */
function pairStyle(input: Grid, output: Grid): CSSProperties {
  const inCols = input[0].length;
  const outCols = output[0].length;
  return {
    flexBasis: Math.max(260, (inCols + outCols) * PAIR_CELL + 80),
    // A custom property rather than gridTemplateColumns, so the narrow-screen stylesheet can override it.
    ['--pair-columns' as string]: `minmax(0, ${Math.max(4, inCols)}fr) auto minmax(0, ${Math.max(4, outCols)}fr)`,
  };
}

function Figure({ grid, label, maxHeight }: { grid: Grid; label: string; maxHeight: number }) {
  return (
    <figure className="grid-figure">
      <figcaption>
        {label} <span className="muted">{gridSizeLabel(grid)}</span>
      </figcaption>
      <GridCanvas grid={grid} label={label} maxHeight={maxHeight} />
    </figure>
  );
}

export function TaskView({ task }: { task: Task }) {
  const solved = useAppStore((s) => s.solved[task.id] === true);
  return (
    <article className="task-view" aria-label={`Task ${task.id}`}>
      <header className="task-header">
        <div>
          <h2>
            {task.id} {solved && <span className="badge ok">✓ solved</span>}
          </h2>
          <p className="muted small">
            {taskSummary(task)} · {isDemoTask(task) ? 'built-in demo' : `from ${task.source ?? 'unknown'}`}
          </p>
        </div>
        <div className="task-header-actions">
          <button type="button" onClick={() => appStore.getState().selectTask(null)}>
            ← Gallery
          </button>
          {!isDemoTask(task) && (
            <button type="button" className="danger" onClick={() => appStore.getState().removeTask(task.id)}>
              Remove task
            </button>
          )}
        </div>
      </header>

      <section aria-label="Train pairs">
        <h3>Train</h3>
        <div className="pairs">
          {task.train.map((p, i) => (
            <div className="pair" key={i} style={pairStyle(p.input, p.output)}>
              <Figure grid={p.input} label={`Train ${i + 1} input`} maxHeight={30 * PAIR_CELL + 1} />
              <span className="arrow" aria-hidden>
                →
              </span>
              <Figure grid={p.output} label={`Train ${i + 1} output`} maxHeight={30 * PAIR_CELL + 1} />
            </div>
          ))}
        </div>
      </section>

      <section aria-label="Test inputs">
        <h3>Test</h3>
        {task.test.map((p, i) => (
          <div className="test-row" key={i}>
            <Figure grid={p.input} label={`Test ${i + 1} input`} maxHeight={420} />
            <span className="arrow" aria-hidden>
              →
            </span>
            <Editor task={task} index={i} />
          </div>
        ))}
      </section>
    </article>
  );
}
