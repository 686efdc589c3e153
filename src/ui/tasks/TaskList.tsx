/** Searchable list of loaded tasks: id, pair counts, sizes, solved state. */
import { useDeferredValue, useMemo, useState, type KeyboardEvent } from 'react';
import { gridSizeLabel } from '../../arc/grid.ts';
import type { Task } from '../../arc/types.ts';
import { taskSolveState } from '../../state/solve.ts';
import { isDemoTask } from '../../state/tasks.ts';
import { SolveBadge } from '../solver/SolveBadge.tsx';
import { appStore, useAppStore } from '../useAppStore.ts';

export function taskSummary(t: Task): string {
  const sizes = [...new Set(t.test.map((p) => gridSizeLabel(p.input)))].join(', ');
  return `${t.train.length} train · ${t.test.length} test · ${sizes}`;
}

export function TaskList() {
  const tasks = useAppStore((s) => s.tasks);
  const selectedId = useAppStore((s) => s.selectedTaskId);
  const solved = useAppStore((s) => s.solved);
  const results = useAppStore((s) => s.solve.results);
  const [query, setQuery] = useState('');
  const loadedCount = useMemo(() => tasks.filter((t) => !isDemoTask(t)).length, [tasks]);
  const solvedCount = useMemo(() => tasks.filter((t) => solved[t.id]).length, [tasks, solved]);
  const deferred = useDeferredValue(query.trim().toLowerCase());
  const shown = useMemo(
    () => (deferred ? tasks.filter((t) => t.id.toLowerCase().includes(deferred) || (t.source ?? '').toLowerCase().includes(deferred)) : tasks),
    [tasks, deferred],
  );

  const move = (e: KeyboardEvent) => {
    const step = e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : 0;
    if (!step || shown.length === 0) return;
    e.preventDefault();
    const i = shown.findIndex((t) => t.id === selectedId);
    const next = shown[Math.max(0, Math.min(shown.length - 1, i + step))];
    appStore.getState().selectTask(next.id);
    document.getElementById(`task-option-${next.id}`)?.scrollIntoView({ block: 'nearest' });
  };

  return (
    <nav className="task-list" aria-label="Task navigation">
      <div className="task-list-head">
        <input type="search" placeholder="Search tasks…" aria-label="Search tasks" value={query} onChange={(e) => setQuery(e.target.value)} />
        <div className="task-list-count">
          <span className="muted small" aria-live="polite">
            {shown.length === tasks.length ? `${tasks.length} tasks` : `${shown.length} of ${tasks.length}`}
            {solvedCount > 0 && ` · ${solvedCount} solved`}
          </span>
          {loadedCount > 0 && (
            <button type="button" className="ghost small" onClick={() => appStore.getState().clearLoadedTasks()} title="Remove every task that is not a built-in demo">
              Clear loaded ({loadedCount})
            </button>
          )}
        </div>
      </div>
      <ul
        role="listbox"
        aria-label="Tasks"
        tabIndex={0}
        onKeyDown={move}
        aria-activedescendant={selectedId && shown.some((t) => t.id === selectedId) ? `task-option-${selectedId}` : undefined}
      >
        {shown.map((t) => {
          const hasSolutions = t.test.every((p) => p.output);
          return (
            <li
              key={t.id}
              id={`task-option-${t.id}`}
              role="option"
              aria-selected={t.id === selectedId}
              onClick={() => appStore.getState().selectTask(t.id)}
            >
              <span className="task-id">{t.id}</span>
              <span className="badges">
                {solved[t.id] && <span className="badge ok" title="Solved">✓ solved</span>}
                <SolveBadge state={taskSolveState(t, results)} />
                {isDemoTask(t) && <span className="badge">demo</span>}
                {!hasSolutions && <span className="badge dim" title="No known solution">no solution</span>}
              </span>
              <span className="task-meta">{taskSummary(t)}</span>
            </li>
          );
        })}
        {shown.length === 0 && <li className="empty muted">No task matches “{query}”.</li>}
      </ul>
    </nav>
  );
}
