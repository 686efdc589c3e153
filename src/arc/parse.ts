/**
 * Turns user-supplied JSON into validated tasks. Accepts, per file:
 *  - a single ARC task {"train":[...], "test":[...]} (id = file name without .json),
 *  - a Kaggle combined challenges map {task_id: {train, test}},
 *  - a Kaggle solutions map {task_id: [grid, ...]} (test order), matched to tasks by id.
 * Every rejection names the file, the task and the path of the bad field; a bad task
 * never stops the good ones in the same file from loading.
 */
import { fnv1a } from './hash.ts';
import type { Grid, Pair, Task, TestInput } from './types.ts';

/** Files above this are refused before reading: the largest Kaggle combined file is ~10 MB. */
export const MAX_FILE_BYTES = 50 * 1024 * 1024;
/** ARC grids are 1×1 … 30×30. */
export const MAX_GRID_SIDE = 30;

export interface LoadError {
  file: string;
  /** Set when the error concerns one task of a multi-task file. */
  taskId?: string;
  /** What is wrong, starting with the path of the bad field when there is one. */
  message: string;
}

export function formatLoadError(e: LoadError): string {
  return `${e.file}${e.taskId !== undefined ? ` task ${e.taskId}` : ''}: ${e.message}`;
}

export interface SourceText {
  /** File name (or a label such as "pasted text"); used for ids and messages. */
  name: string;
  text: string;
  /** Task id for a single-task source; defaults to the file name without .json. */
  id?: string;
  /** Stored in Task.source; defaults to `name`. */
  source?: string;
}

export interface ParsedFile {
  tasks: Task[];
  /** Solutions read from a solutions file, by task id, in test order. */
  solutions: Map<string, Grid[]>;
  errors: LoadError[];
}

class FieldError extends Error {}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates one grid; throws FieldError naming `path`. */
export function validateGrid(value: unknown, path: string): Grid {
  if (!Array.isArray(value)) throw new FieldError(`${path} is ${describe(value)}, expected a list of rows`);
  if (value.length === 0) throw new FieldError(`${path} is empty (0 rows)`);
  if (value.length > MAX_GRID_SIDE) throw new FieldError(`${path} has ${value.length} rows, the maximum is ${MAX_GRID_SIDE}`);
  let width = -1;
  value.forEach((row: unknown, r) => {
    if (!Array.isArray(row)) throw new FieldError(`${path} row ${r} is ${describe(row)}, expected a list of colours`);
    if (r === 0) {
      if (row.length === 0) throw new FieldError(`${path} row 0 is empty (0 cells)`);
      if (row.length > MAX_GRID_SIDE) throw new FieldError(`${path} row 0 has ${row.length} cells, the maximum is ${MAX_GRID_SIDE}`);
      width = row.length;
    } else if (row.length !== width) {
      throw new FieldError(`${path} row ${r} has ${row.length} cells, row 0 has ${width}`);
    }
    row.forEach((cell: unknown, c) => {
      if (typeof cell !== 'number' || !Number.isInteger(cell)) {
        throw new FieldError(`${path} row ${r} col ${c} is ${describe(cell)}, expected an integer colour 0-9`);
      }
      if (cell < 0 || cell > 9) throw new FieldError(`${path} row ${r} col ${c} is ${cell}, expected a colour 0-9`);
    });
  });
  return value as Grid;
}

function validatePairs(task: Record<string, unknown>, key: 'train' | 'test'): unknown[] {
  if (!(key in task)) throw new FieldError(`missing "${key}"`);
  const list = task[key];
  if (!Array.isArray(list)) throw new FieldError(`"${key}" is ${describe(list)}, expected a list of pairs`);
  if (list.length === 0) throw new FieldError(`"${key}" is empty`);
  list.forEach((p, i) => {
    if (!isPlainObject(p)) throw new FieldError(`${key}[${i}] is ${describe(p)}, expected {"input", "output"}`);
  });
  return list;
}

/** Validates one task object; throws FieldError naming the bad field. */
export function validateTask(value: unknown, id: string, source?: string): Task {
  if (!isPlainObject(value)) throw new FieldError(`is ${describe(value)}, expected a task {"train", "test"}`);
  const train: Pair[] = validatePairs(value, 'train').map((p, i) => {
    const pair = p as Record<string, unknown>;
    if (!('output' in pair)) throw new FieldError(`train[${i}].output is missing`);
    return { input: validateGrid(pair.input, `train[${i}].input`), output: validateGrid(pair.output, `train[${i}].output`) };
  });
  const test: TestInput[] = validatePairs(value, 'test').map((p, i) => {
    const pair = p as Record<string, unknown>;
    const input = validateGrid(pair.input, `test[${i}].input`);
    // Challenge files omit test outputs; some tools write null for "unknown".
    if (pair.output === undefined || pair.output === null) return { input };
    return { input, output: validateGrid(pair.output, `test[${i}].output`) };
  });
  return source === undefined ? { id, train, test } : { id, train, test, source };
}

function tooLarge(bytes: number): string {
  return `file is ${(bytes / 1024 / 1024).toFixed(1)} MB, over the ${MAX_FILE_BYTES / 1024 / 1024} MB limit`;
}

/** A pasted text as a source; a content hash gives single tasks a stable id across pastes. */
export function pastedSource(text: string): SourceText {
  return { name: 'pasted text', text, id: `pasted-${fnv1a(text).toString(16).padStart(8, '0')}` };
}

/** File name without directories and a trailing .json. */
export function taskIdFromFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return base.replace(/\.json$/i, '');
}

/** Parses one source into tasks, solutions and errors; never throws. */
export function parseSource(src: SourceText): ParsedFile {
  const out: ParsedFile = { tasks: [], solutions: new Map(), errors: [] };
  const fail = (message: string, taskId?: string) =>
    out.errors.push(taskId === undefined ? { file: src.name, message } : { file: src.name, taskId, message });

  if (src.text.length > MAX_FILE_BYTES) {
    fail(tooLarge(src.text.length));
    return out;
  }
  let root: unknown;
  try {
    root = JSON.parse(src.text.replace(/^\uFEFF/, ''));
  } catch (e) {
    fail(`not valid JSON (${(e as Error).message})`);
    return out;
  }
  if (!isPlainObject(root)) {
    fail(`top level is ${describe(root)}, expected a task {"train", "test"} or a map {task_id: task}`);
    return out;
  }

  if ('train' in root || 'test' in root) {
    try {
      out.tasks.push(validateTask(root, src.id ?? taskIdFromFileName(src.name), src.source ?? src.name));
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      fail(e.message);
    }
    return out;
  }

  const entries = Object.entries(root);
  if (entries.length === 0) {
    fail('contains no tasks (empty object)');
    return out;
  }
  // A solutions map holds only lists of grids; a challenges map holds task objects.
  if (entries.every(([, v]) => Array.isArray(v))) {
    for (const [id, grids] of entries) {
      try {
        const list = grids as unknown[];
        if (list.length === 0) throw new FieldError('has no solution grids');
        out.solutions.set(id, list.map((g, k) => validateGrid(g, `solution[${k}]`)));
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
        fail(e.message, id);
      }
    }
    return out;
  }
  for (const [id, value] of entries) {
    try {
      out.tasks.push(validateTask(value, id, src.source ?? src.name));
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      fail(e.message, id);
    }
  }
  return out;
}

/**
 * Attaches solutions (test order) to the tasks with the same id. A count mismatch rejects that
 * task's solutions only; ids with no task are reported once per file.
 */
export function applySolutions(
  tasks: readonly Task[],
  solutions: ReadonlyMap<string, Grid[]>,
  file: string,
): { tasks: Task[]; errors: LoadError[] } {
  const errors: LoadError[] = [];
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const updated = new Map<string, Task>();
  const unknown: string[] = [];
  for (const [id, grids] of solutions) {
    const task = byId.get(id);
    if (!task) {
      unknown.push(id);
      continue;
    }
    if (grids.length !== task.test.length) {
      errors.push({
        file,
        taskId: id,
        message: `has ${grids.length} solution grid(s), the task has ${task.test.length} test input(s)`,
      });
      continue;
    }
    updated.set(id, { ...task, test: task.test.map((t, i) => ({ input: t.input, output: grids[i] })) });
  }
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 5).join(', ') + (unknown.length > 5 ? `, … (${unknown.length} in all)` : '');
    errors.push({ file, message: `solutions for task(s) not loaded, ignored: ${shown}` });
  }
  return { tasks: [...updated.values()], errors };
}

export interface LoadResult {
  /** New or updated tasks (including loaded tasks that just received solutions), in file order. */
  tasks: Task[];
  errors: LoadError[];
}

/**
 * Parses several sources at once. Solutions files apply to tasks from the same batch first and
 * then to `loaded` (tasks already in the app), so challenges and solutions can arrive separately.
 */
export function parseSources(sources: readonly SourceText[], loaded: readonly Task[] = []): LoadResult {
  const tasks = new Map<string, Task>();
  const errors: LoadError[] = [];
  const solutionFiles: { file: string; solutions: Map<string, Grid[]> }[] = [];
  for (const src of sources) {
    const parsed = parseSource(src);
    for (const t of parsed.tasks) tasks.set(t.id, t);
    errors.push(...parsed.errors);
    if (parsed.solutions.size > 0) solutionFiles.push({ file: src.name, solutions: parsed.solutions });
  }
  for (const { file, solutions } of solutionFiles) {
    const candidates = new Map(loaded.map((t) => [t.id, t]));
    for (const t of tasks.values()) candidates.set(t.id, t);
    const applied = applySolutions([...candidates.values()], solutions, file);
    for (const t of applied.tasks) tasks.set(t.id, t);
    errors.push(...applied.errors);
  }
  return { tasks: [...tasks.values()], errors };
}

/** Reads browser (or Node) File objects, refusing oversized files before reading them. */
export async function readTaskFiles(
  files: readonly File[],
  loaded: readonly Task[] = [],
): Promise<LoadResult> {
  const errors: LoadError[] = [];
  const readable = files.filter((f) => {
    if (f.size <= MAX_FILE_BYTES) return true;
    errors.push({ file: f.name, message: tooLarge(f.size) });
    return false;
  });
  // Reads overlap (the browser does them off-thread); all texts are held until parsed either way.
  const sources = await Promise.all(readable.map(async (f): Promise<SourceText> => ({ name: f.name, text: await f.text() })));
  const result = parseSources(sources, loaded);
  return { tasks: result.tasks, errors: [...errors, ...result.errors] };
}
