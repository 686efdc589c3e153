/**
 * Keeps loaded tasks, solved marks and settings across reloads in IndexedDB (idb-keyval).
 * Demo tasks are not stored: they ship with the app and may change between versions.
 */
import { createStore as createIdbStore, get as idbGet, set as idbSet } from 'idb-keyval';
import { validateTask } from '../arc/parse.ts';
import type { Task } from '../arc/types.ts';
import { sanitizeSettings, type Settings } from './settings.ts';
import type { AppState, AppStore } from './store.ts';
import { isDemoTask } from './tasks.ts';

export interface PersistedState {
  version: 1;
  tasks: Task[];
  solved: Record<string, true>;
  settings: Settings;
}

/** Where the snapshot lives; IndexedDB in the app, anything with get/set in tests. */
export interface Persistence {
  load(): Promise<unknown>;
  save(state: PersistedState): Promise<void>;
}

const KEY = 'app-state';

export function idbPersistence(): Persistence {
  const db = createIdbStore('trm-studio', 'state');
  return { load: () => idbGet(KEY, db), save: (state) => idbSet(KEY, state, db) };
}

export function snapshot(s: AppState): PersistedState {
  return { version: 1, tasks: s.tasks.filter((t) => !isDemoTask(t)), solved: s.solved, settings: s.settings };
}

/** Re-validates a stored snapshot, dropping whatever no longer passes (old formats, damage). */
export function readSnapshot(value: unknown): Omit<PersistedState, 'version'> | null {
  if (typeof value !== 'object' || value === null || (value as { version?: unknown }).version !== 1) return null;
  const v = value as Partial<PersistedState>;
  const tasks: Task[] = [];
  for (const t of Array.isArray(v.tasks) ? v.tasks : []) {
    try {
      tasks.push(validateTask(t, String(t.id), typeof t.source === 'string' ? t.source : undefined));
    } catch {
      // A stored task that fails today's validation is dropped rather than breaking startup.
    }
  }
  const solved: Record<string, true> = {};
  for (const [id, mark] of Object.entries(v.solved ?? {})) if (mark === true) solved[id] = true;
  return { tasks, solved, settings: sanitizeSettings(v.settings) };
}

/**
 * Restores the stored snapshot into `store`, then saves on every change of the persisted
 * parts (debounced, since a big load changes many things at once). Returns a stop function.
 */
export async function startPersistence(store: AppStore, persistence: Persistence, debounceMs = 250): Promise<() => void> {
  let stored: ReturnType<typeof readSnapshot> = null;
  try {
    stored = readSnapshot(await persistence.load());
  } catch (e) {
    console.warn('could not read saved tasks', e);
  }
  if (stored) {
    store.getState().restoreTasks(stored.tasks, stored.solved);
    store.getState().updateSettings(stored.settings);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const unsubscribe = store.subscribe((s, prev) => {
    if (s.tasks === prev.tasks && s.solved === prev.solved && s.settings === prev.settings) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      // Quota or private-mode failures must not break the app: the state stays in memory.
      persistence.save(snapshot(store.getState())).catch((e) => console.warn('could not save tasks', e));
    }, debounceMs);
  });
  return () => {
    clearTimeout(timer);
    unsubscribe();
  };
}
