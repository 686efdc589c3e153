/** Loaded tasks, the selected task, the last load report and which tasks a human solved. */
import { demoTasks, DEMO_SOURCE } from '../arc/demo/index.ts';
import { parseSources, readTaskFiles, type LoadError, type LoadResult, type SourceText } from '../arc/parse.ts';
import { gridsEqual } from '../arc/grid.ts';
import type { Task } from '../arc/types.ts';
import { withoutDrafts } from './editor.ts';
import type { AppState, SliceCreator } from './store.ts';

export interface LoadReport {
  /** Names of the files (or "pasted text") in this load. */
  files: string[];
  /** Ids of tasks added or updated. */
  taskIds: string[];
  errors: LoadError[];
}

export interface TasksSlice {
  /** Demo tasks first, then loaded ones in load order; ids are unique. */
  tasks: Task[];
  selectedTaskId: string | null;
  lastLoad: LoadReport | null;
  /** Tasks whose every test output was checked correct. */
  solved: Record<string, true>;
  loadSources(sources: readonly SourceText[]): LoadReport;
  loadFiles(files: readonly File[]): Promise<LoadReport>;
  /** Adds tasks restored from storage without replacing anything loaded meanwhile. */
  restoreTasks(tasks: readonly Task[], solved: Record<string, true>): void;
  selectTask(id: string | null): void;
  removeTask(id: string): void;
  /** Removes every task that is not a built-in demo. */
  clearLoadedTasks(): void;
  dismissLoadReport(): void;
  markSolved(id: string): void;
}

export function isDemoTask(t: Task): boolean {
  return t.source === DEMO_SOURCE;
}

/** Replaces tasks with the same id in place and appends new ones. */
function mergeTasks(current: readonly Task[], incoming: readonly Task[]): Task[] {
  const index = new Map(current.map((t, i) => [t.id, i]));
  const next = current.slice();
  for (const t of incoming) {
    const i = index.get(t.id);
    if (i === undefined) {
      index.set(t.id, next.length);
      next.push(t);
    } else {
      next[i] = t;
    }
  }
  return next;
}

/** State without the given tasks and everything that refers to them. */
function removeIds(s: AppState, ids: readonly string[]): Partial<AppState> {
  const gone = new Set(ids);
  const solved = { ...s.solved };
  for (const id of ids) delete solved[id];
  return {
    tasks: s.tasks.filter((t) => !gone.has(t.id)),
    selectedTaskId: s.selectedTaskId !== null && gone.has(s.selectedTaskId) ? null : s.selectedTaskId,
    solved,
    ...withoutDrafts(s, ids),
  };
}

export const createTasksSlice: SliceCreator<TasksSlice> = (set, get) => {
  const apply = (files: string[], result: LoadResult): LoadReport => {
    const report: LoadReport = { files, taskIds: result.tasks.map((t) => t.id), errors: result.errors };
    set((s) => {
      // A reloaded task may have different tests: its human drafts and solved mark no longer apply,
      // unless only solutions were added (same inputs).
      const stale = result.tasks.filter((t) => {
        const old = s.tasks.find((o) => o.id === t.id);
        return old !== undefined && (old.test.length !== t.test.length || old.test.some((o, i) => !gridsEqual(o.input, t.test[i].input)));
      });
      const solved = { ...s.solved };
      for (const t of stale) delete solved[t.id];
      return {
        tasks: mergeTasks(s.tasks, result.tasks),
        lastLoad: report,
        solved,
        selectedTaskId: result.tasks[0]?.id ?? s.selectedTaskId,
        ...withoutDrafts(s, stale.map((t) => t.id)),
      };
    });
    return report;
  };

  return {
    tasks: [...demoTasks],
    selectedTaskId: null,
    lastLoad: null,
    solved: {},
    loadSources: (sources) => apply(sources.map((s) => s.name), parseSources(sources, get().tasks)),
    loadFiles: async (files) => apply(files.map((f) => f.name), await readTaskFiles(files, get().tasks)),
    restoreTasks: (tasks, solved) =>
      set((s) => {
        // A stored task overrides a demo of the same id (the user loaded it over the demo),
        // but not a task the user loaded while storage was being read.
        const loadedMeanwhile = new Set(s.tasks.filter((t) => !isDemoTask(t)).map((t) => t.id));
        return {
          tasks: mergeTasks(s.tasks, tasks.filter((t) => !loadedMeanwhile.has(t.id))),
          solved: { ...solved, ...s.solved },
        };
      }),
    selectTask: (id) => set({ selectedTaskId: id }),
    removeTask: (id) => set((s) => removeIds(s, [id])),
    clearLoadedTasks: () => set((s) => removeIds(s, s.tasks.filter((t) => !isDemoTask(t)).map((t) => t.id))),
    dismissLoadReport: () => set({ lastLoad: null }),
    markSolved: (id) => set((s) => ({ solved: { ...s.solved, [id]: true } })),
  };
};
