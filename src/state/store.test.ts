import { describe, expect, it } from 'vitest';
import { demoTasks } from '../arc/demo/index.ts';
import { floodFill, paintCell } from '../arc/editor.ts';
import { formatLoadError } from '../arc/parse.ts';
import { draftKey, draftOf } from './editor.ts';
import { startPersistence, type PersistedState, type Persistence } from './persist.ts';
import { createAppStore } from './store.ts';

const g = (rows: number, cols: number, v = 0) => Array.from({ length: rows }, () => new Array(cols).fill(v));
const taskText = (testOutput?: number[][]) =>
  JSON.stringify({ train: [{ input: g(1, 1, 1), output: g(1, 1, 2) }], test: [{ input: g(2, 2, 1), ...(testOutput ? { output: testOutput } : {}) }] });

describe('tasks slice', () => {
  it('starts with the demo tasks, every one with solutions', () => {
    const store = createAppStore();
    expect(demoTasks.length).toBeGreaterThanOrEqual(6);
    expect(store.getState().tasks.map((t) => t.id)).toEqual(demoTasks.map((t) => t.id));
    for (const t of demoTasks) for (const test of t.test) expect(test.output).toBeDefined();
  });

  it('loads tasks, selects the first new one and keeps them when a later file is bad', () => {
    const store = createAppStore();
    const first = store.getState().loadSources([{ name: 'abc.json', text: taskText() }]);
    expect(first.taskIds).toEqual(['abc']);
    expect(store.getState().selectedTaskId).toBe('abc');
    const bad = store.getState().loadSources([{ name: 'broken.json', text: '{"train": 3, "test": []}' }]);
    expect(bad.errors.map(formatLoadError)).toEqual(['broken.json: "train" is 3, expected a list of pairs']);
    expect(store.getState().tasks.some((t) => t.id === 'abc')).toBe(true);
    expect(store.getState().selectedTaskId).toBe('abc');
  });

  it('attaches a solutions file to a task loaded earlier, keeping its draft', () => {
    const store = createAppStore();
    store.getState().loadSources([{ name: 'ch.json', text: JSON.stringify({ t1: JSON.parse(taskText()) }) }]);
    const t1 = () => store.getState().tasks.find((t) => t.id === 't1')!;
    store.getState().editDraft(t1(), 0, (grid) => paintCell(grid, 0, 0, 5));
    store.getState().loadSources([{ name: 'sol.json', text: JSON.stringify({ t1: [g(2, 2, 3)] }) }]);
    expect(t1().test[0].output).toEqual(g(2, 2, 3));
    expect(draftOf(store.getState(), t1(), 0).grid[0][0]).toBe(5);
  });
  it('clears every loaded task but keeps the demos', () => {
    const store = createAppStore();
    store.getState().loadSources([{ name: 'a.json', text: taskText() }, { name: 'b.json', text: taskText(g(2, 2)) }]);
    const b = store.getState().tasks.find((t) => t.id === 'b')!;
    store.getState().checkDraft(b, 0);
    expect(store.getState().solved.b).toBe(true);
    store.getState().clearLoadedTasks();
    expect(store.getState().tasks.map((t) => t.id)).toEqual(demoTasks.map((t) => t.id));
    expect(store.getState().selectedTaskId).toBeNull();
    expect(store.getState().solved).toEqual({});
  });
});

describe('editor slice', () => {
  it('edits a blank draft the size of the input, undoes, and checks against the solution', () => {
    const store = createAppStore();
    store.getState().loadSources([{ name: 'x.json', text: taskText(g(2, 2, 3)) }]);
    const task = store.getState().tasks.find((t) => t.id === 'x')!;
    const s = () => store.getState();
    expect(draftOf(s(), task, 0).grid).toEqual(g(2, 2, 0));
    s().editDraft(task, 0, (grid) => paintCell(grid, 0, 0, 3));
    expect(s().checkDraft(task, 0)).toBe('wrong');
    expect(s().solved.x).toBeUndefined();
    s().editDraft(task, 0, (grid) => floodFill(grid, 1, 1, 3));
    expect(s().checks[draftKey('x', 0)]).toBeUndefined(); // an edit clears the old verdict
    expect(s().checkDraft(task, 0)).toBe('correct');
    expect(s().solved.x).toBe(true);
    s().undoDraft(task, 0);
    expect(draftOf(s(), task, 0).grid).toEqual([[3, 0], [0, 0]]);
    s().redoDraft(task, 0);
    expect(draftOf(s(), task, 0).grid).toEqual(g(2, 2, 3));
  });

  it('returns null from Check when there is no known solution', () => {
    const store = createAppStore();
    store.getState().loadSources([{ name: 'x.json', text: taskText() }]);
    const task = store.getState().tasks.find((t) => t.id === 'x')!;
    expect(store.getState().checkDraft(task, 0)).toBeNull();
  });

  it('drops drafts and solved marks when a task is reloaded with different tests', () => {
    const store = createAppStore();
    const s = () => store.getState();
    s().loadSources([{ name: 'x.json', text: taskText(g(2, 2, 0)) }]);
    const task = s().tasks.find((t) => t.id === 'x')!;
    s().editDraft(task, 0, (grid) => paintCell(grid, 0, 0, 4));
    s().editDraft(task, 0, (grid) => paintCell(grid, 0, 0, 0));
    expect(s().checkDraft(task, 0)).toBe('correct');
    s().loadSources([{ name: 'x.json', text: JSON.stringify({ train: task.train, test: [{ input: g(3, 3) }] }) }]);
    expect(s().drafts[draftKey('x', 0)]).toBeUndefined();
    expect(s().solved.x).toBeUndefined();
  });
});

describe('persistence', () => {
  /** In-memory stand-in for IndexedDB with the same structured-clone semantics. */
  function memory(): Persistence & { saved: PersistedState[] } {
    const saved: PersistedState[] = [];
    return { saved, load: async () => structuredClone(saved[saved.length - 1]), save: async (st) => void saved.push(structuredClone(st)) };
  }

  it('saves loaded tasks (not demos), solved marks and settings, and restores them in a new store', async () => {
    const db = memory();
    const a = createAppStore();
    const stop = await startPersistence(a, db, 0);
    a.getState().loadSources([{ name: 'kept.json', text: taskText(g(2, 2, 0)) }]);
    const kept = a.getState().tasks.find((t) => t.id === 'kept')!;
    a.getState().checkDraft(kept, 0);
    a.getState().updateSettings({ palette: 'tol', showNumbers: true });
    await new Promise((r) => setTimeout(r, 20));
    stop();
    expect(db.saved.at(-1)!.tasks.map((t) => t.id)).toEqual(['kept']);

    const b = createAppStore();
    await startPersistence(b, db, 0);
    expect(b.getState().tasks.map((t) => t.id)).toEqual([...demoTasks.map((t) => t.id), 'kept']);
    expect(b.getState().solved).toEqual({ kept: true });
    expect(b.getState().settings).toEqual({ palette: 'tol', showNumbers: true, gridLines: true });
  });

  it('restores a stored task over a demo of the same id, but not over one loaded meanwhile', async () => {
    const demoId = demoTasks[0].id;
    const stored = [{ id: demoId, ...JSON.parse(taskText()), source: 'mine.json' }, { id: 'late', ...JSON.parse(taskText()), source: 'old.json' }];
    const db: Persistence = { load: async () => ({ version: 1, tasks: stored, solved: {}, settings: {} }), save: async () => {} };
    const store = createAppStore();
    store.getState().loadSources([{ name: 'late.json', text: taskText(g(2, 2)) }]);
    await startPersistence(store, db);
    const byId = (id: string) => store.getState().tasks.find((t) => t.id === id)!;
    expect(byId(demoId).source).toBe('mine.json');
    expect(byId('late').source).toBe('late.json');
    expect(store.getState().tasks.filter((t) => t.id === demoId)).toHaveLength(1);
  });

  it('ignores a damaged snapshot field by field', async () => {
    const db: Persistence = {
      load: async () => ({ version: 1, tasks: [{ id: 'ok', ...JSON.parse(taskText()) }, { id: 'bad', train: [] }], solved: { ok: 'yes' }, settings: { palette: 'neon' } }),
      save: async () => {},
    };
    const store = createAppStore();
    await startPersistence(store, db);
    expect(store.getState().tasks.at(-1)!.id).toBe('ok');
    expect(store.getState().tasks.some((t) => t.id === 'bad')).toBe(false);
    expect(store.getState().solved).toEqual({});
    expect(store.getState().settings.palette).toBe('arcprize');
  });
});
