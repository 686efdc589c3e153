/**
 * The app's zustand vanilla store, composed from slices so that later features (model,
 * solver runs, frames) add a slice here without touching the others. React binds to it
 * in src/ui/useAppStore.ts; nothing in src/state imports React.
 */
import { createStore, type StateCreator } from 'zustand/vanilla';
import { createEditorSlice, type EditorSlice } from './editor.ts';
import { createFitSlice, type FitSlice } from './fit.ts';
import { createModelSlice, type ModelSlice } from './model.ts';
import { createSettingsSlice, type SettingsSlice } from './settings.ts';
import { createSolveSlice, type SolveSlice } from './solve.ts';
import { createTasksSlice, type TasksSlice } from './tasks.ts';

export type AppState = TasksSlice & EditorSlice & SettingsSlice & ModelSlice & SolveSlice & FitSlice;

/** A slice creator sees (and may set) the whole app state. */
export type SliceCreator<Slice> = StateCreator<AppState, [], [], Slice>;

export function createAppStore() {
  return createStore<AppState>()((...a) => ({
    ...createTasksSlice(...a),
    ...createEditorSlice(...a),
    ...createSettingsSlice(...a),
    ...createModelSlice(...a),
    ...createSolveSlice(...a),
    ...createFitSlice(...a),
  }));
}

export type AppStore = ReturnType<typeof createAppStore>;

/** The store the app uses; tests create their own with createAppStore(). */
export const appStore = createAppStore();
