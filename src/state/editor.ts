/** The human output editor: one draft per test input, the current tool and colour, checks. */
import { applyEdit, createEditor, redo, undo, type EditorState, type Selection, type Tool } from '../arc/editor.ts';
import { filledGrid, gridsEqual } from '../arc/grid.ts';
import type { Grid, Task } from '../arc/types.ts';
import type { AppState, SliceCreator } from './store.ts';

export type CheckResult = 'correct' | 'wrong';

export interface EditorSlice {
  /** By draftKey(taskId, testIndex); absent until first edited. */
  drafts: Record<string, EditorState>;
  /** Result of the last Check, cleared by the next edit. */
  checks: Record<string, CheckResult>;
  tool: Tool;
  color: number;
  /** The test editor that keyboard shortcuts act on. */
  activeTest: number;
  selection: Selection | null;
  setTool(tool: Tool): void;
  setColor(color: number): void;
  setActiveTest(index: number): void;
  setSelection(sel: Selection | null): void;
  /** Applies `edit` to the draft's grid; `merge` folds it into the previous history step (drag strokes). */
  editDraft(task: Task, index: number, edit: (grid: Grid) => Grid, merge?: boolean): void;
  undoDraft(task: Task, index: number): void;
  redoDraft(task: Task, index: number): void;
  /** Compares the draft with the known solution; null when the task has none for this input. */
  checkDraft(task: Task, index: number): CheckResult | null;
}

export function draftKey(taskId: string, index: number): string {
  return `${taskId}#${index}`;
}

/** The draft for a test input; a fresh one is a blank grid the size of the input. */
export function draftOf(state: Pick<EditorSlice, 'drafts'>, task: Task, index: number): EditorState {
  const input = task.test[index].input;
  return state.drafts[draftKey(task.id, index)] ?? createEditor(filledGrid(input.length, input[0].length));
}

/** State without the drafts and checks of the given tasks (used when tasks go away or change). */
export function withoutDrafts(state: Pick<EditorSlice, 'drafts' | 'checks'>, taskIds: readonly string[]) {
  if (taskIds.length === 0) return {};
  const prefixes = taskIds.map((id) => `${id}#`);
  const keep = ([k]: [string, unknown]) => !prefixes.some((p) => k.startsWith(p) && /^\d+$/.test(k.slice(p.length)));
  return {
    drafts: Object.fromEntries(Object.entries(state.drafts).filter(keep)),
    checks: Object.fromEntries(Object.entries(state.checks).filter(keep)) as Record<string, CheckResult>,
  };
}

export const createEditorSlice: SliceCreator<EditorSlice> = (set, get) => {
  const update = (task: Task, index: number, step: (d: EditorState) => EditorState) =>
    set((s: AppState) => {
      const key = draftKey(task.id, index);
      const before = draftOf(s, task, index);
      const after = step(before);
      if (after === before) return {};
      const checks = { ...s.checks };
      delete checks[key];
      return { drafts: { ...s.drafts, [key]: after }, checks };
    });

  return {
    drafts: {},
    checks: {},
    tool: 'draw',
    color: 1,
    activeTest: 0,
    selection: null,
    setTool: (tool) => set({ tool, selection: null }),
    setColor: (color) => set({ color }),
    setActiveTest: (index) => set((s) => (s.activeTest === index ? {} : { activeTest: index, selection: null })),
    setSelection: (selection) => set({ selection }),
    editDraft: (task, index, edit, merge = false) => update(task, index, (d) => applyEdit(d, edit(d.grid), merge)),
    undoDraft: (task, index) => update(task, index, undo),
    redoDraft: (task, index) => update(task, index, redo),
    checkDraft: (task, index) => {
      const solution = task.test[index].output;
      if (!solution) return null;
      const s = get();
      const result: CheckResult = gridsEqual(draftOf(s, task, index).grid, solution) ? 'correct' : 'wrong';
      const checks = { ...s.checks, [draftKey(task.id, index)]: result };
      set({ checks });
      if (task.test.every((_, i) => checks[draftKey(task.id, i)] === 'correct')) s.markSolved(task.id);
      return result;
    },
  };
};
