import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MAX_FILE_BYTES,
  formatLoadError,
  parseSource,
  parseSources,
  pastedSource,
  readTaskFiles,
  taskIdFromFileName,
} from './parse.ts';
import type { Task } from './types.ts';

const g = (rows: number, cols: number, v = 0) => Array.from({ length: rows }, () => new Array(cols).fill(v));
const task = (over: Record<string, unknown> = {}) => ({
  train: [{ input: g(2, 2, 1), output: g(2, 2, 2) }],
  test: [{ input: g(3, 3, 1) }],
  ...over,
});
const messages = (name: string, value: unknown) =>
  parseSource({ name, text: typeof value === 'string' ? value : JSON.stringify(value) }).errors.map(formatLoadError);

describe('parseSource: accepted shapes', () => {
  it('reads a single task file with the file name as id', () => {
    const r = parseSource({ name: 'dir/3a1b.json', text: JSON.stringify(task({ test: [{ input: g(1, 1), output: g(1, 2, 5) }] })) });
    expect(r.errors).toEqual([]);
    expect(r.tasks).toHaveLength(1);
    expect(r.tasks[0].id).toBe('3a1b');
    expect(r.tasks[0].source).toBe('dir/3a1b.json');
    expect(r.tasks[0].test[0].output).toEqual([[5, 5]]);
  });

  it('reads a Kaggle combined challenges map, test outputs absent', () => {
    const r = parseSource({ name: 'challenges.json', text: JSON.stringify({ aaa: task(), bbb: task() }) });
    expect(r.errors).toEqual([]);
    expect(r.tasks.map((t) => t.id)).toEqual(['aaa', 'bbb']);
    expect(r.tasks[0].test[0].output).toBeUndefined();
  });

  it('reads a solutions map as solutions, not tasks', () => {
    const r = parseSource({ name: 'solutions.json', text: JSON.stringify({ aaa: [g(1, 1, 3)], bbb: [g(2, 1), g(1, 2)] }) });
    expect(r.errors).toEqual([]);
    expect(r.tasks).toEqual([]);
    expect(r.solutions.get('bbb')).toEqual([g(2, 1), g(1, 2)]);
  });

  it('accepts a UTF-8 BOM and 1×1 and 30×30 grids', () => {
    const r = parseSource({ name: 'x.json', text: '\uFEFF' + JSON.stringify(task({ train: [{ input: g(1, 1), output: g(30, 30, 9) }] })) });
    expect(r.errors).toEqual([]);
  });

  it('gives pasted text a stable content-derived id', () => {
    const text = JSON.stringify(task());
    expect(pastedSource(text).id).toBe(pastedSource(text).id);
    expect(pastedSource(text).id).not.toBe(pastedSource(text + ' ').id);
    expect(parseSource(pastedSource(text)).tasks[0].id).toBe(pastedSource(text).id);
  });

  it('strips directories and .json from ids', () => {
    expect(taskIdFromFileName('a/b\\c/007bbfb7.JSON')).toBe('007bbfb7');
  });
});

describe('parseSource: rejections name the file and the field path', () => {
  const cases: [string, unknown, string][] = [
    ['not JSON', '{"train": [', 'bad.json: not valid JSON'],
    ['a top-level list', [1, 2], 'bad.json: top level is a list'],
    ['an empty object', {}, 'bad.json: contains no tasks'],
    ['missing test', { train: task().train }, 'bad.json: missing "test"'],
    ['missing train', { test: task().test }, 'bad.json: missing "train"'],
    ['empty train', task({ train: [] }), 'bad.json: "train" is empty'],
    ['empty test', task({ test: [] }), 'bad.json: "test" is empty'],
    ['train not a list', task({ train: {} }), 'bad.json: "train" is an object, expected a list'],
    ['missing train output', task({ train: [{ input: g(1, 1) }] }), 'bad.json: train[0].output is missing'],
    ['a pair that is not an object', task({ test: [5] }), 'bad.json: test[0] is 5'],
    [
      'ragged rows',
      task({ train: [task().train[0], task().train[0], { input: g(2, 2), output: [...g(4, 6), new Array(7).fill(0)] }] }),
      'bad.json: train[2].output row 4 has 7 cells, row 0 has 6',
    ],
    ['a non-integer colour', task({ test: [{ input: [[0, 1.5]] }] }), 'bad.json: test[0].input row 0 col 1 is 1.5, expected an integer colour 0-9'],
    ['a string colour', task({ test: [{ input: [[0], ['3']] }] }), 'bad.json: test[0].input row 1 col 0 is "3", expected an integer colour 0-9'],
    ['an out-of-range colour', task({ test: [{ input: [[10]] }] }), 'bad.json: test[0].input row 0 col 0 is 10, expected a colour 0-9'],
    ['a negative colour', task({ test: [{ input: [[-1]] }] }), 'bad.json: test[0].input row 0 col 0 is -1, expected a colour 0-9'],
    ['31 rows', task({ test: [{ input: g(31, 2) }] }), 'bad.json: test[0].input has 31 rows, the maximum is 30'],
    ['31 columns', task({ test: [{ input: g(2, 31) }] }), 'bad.json: test[0].input row 0 has 31 cells, the maximum is 30'],
    ['an empty grid', task({ test: [{ input: [] }] }), 'bad.json: test[0].input is empty (0 rows)'],
    ['an empty row', task({ test: [{ input: [[]] }] }), 'bad.json: test[0].input row 0 is empty (0 cells)'],
    ['a bad test output', task({ test: [{ input: g(1, 1), output: 'x' }] }), 'bad.json: test[0].output is "x", expected a list of rows'],
  ];
  for (const [what, value, expected] of cases) {
    it(`rejects ${what}`, () => {
      const errors = messages('bad.json', value);
      expect(errors).toHaveLength(1);
      expect(errors[0].startsWith(expected)).toBe(true);
    });
  }

  it('keeps the good tasks of a combined file and lists the bad ones by id', () => {
    const r = parseSource({
      name: 'combined.json',
      text: JSON.stringify({ good1: task(), bad: task({ test: [{ input: [[1, 2], [3]] }] }), good2: task(), alsoBad: 7 }),
    });
    expect(r.tasks.map((t) => t.id)).toEqual(['good1', 'good2']);
    expect(r.errors.map(formatLoadError)).toEqual([
      'combined.json task bad: test[0].input row 1 has 1 cells, row 0 has 2',
      'combined.json task alsoBad: is 7, expected a task {"train", "test"}',
    ]);
  });

  it('rejects a bad grid in a solutions file by task id and index', () => {
    const errors = messages('sol.json', { a: [g(1, 1)], b: [g(1, 1), [[1, 99]]], c: [] });
    expect(errors).toEqual([
      'sol.json task b: solution[1] row 0 col 1 is 99, expected a colour 0-9',
      'sol.json task c: has no solution grids',
    ]);
  });
});

describe('parseSources: batches and solutions', () => {
  const challenges = { name: 'ch.json', text: JSON.stringify({ a: task(), b: task({ test: [{ input: g(1, 1) }, { input: g(2, 2) }] }) }) };

  it('matches a solutions file by id, in test order, within one batch', () => {
    const solutions = { name: 'sol.json', text: JSON.stringify({ a: [g(1, 1, 7)], b: [g(1, 1, 8), g(1, 1, 9)] }) };
    // Order of files must not matter.
    const r = parseSources([solutions, challenges]);
    expect(r.errors).toEqual([]);
    const b = r.tasks.find((t) => t.id === 'b')!;
    expect(b.test.map((t) => t.output)).toEqual([g(1, 1, 8), g(1, 1, 9)]);
    expect(b.test[1].input).toEqual(g(2, 2));
  });

  it('applies a later solutions file to already loaded tasks', () => {
    const loaded: Task[] = parseSources([challenges]).tasks;
    const r = parseSources([{ name: 'sol.json', text: JSON.stringify({ a: [g(1, 1, 4)] }) }], loaded);
    expect(r.tasks.map((t) => t.id)).toEqual(['a']);
    expect(r.tasks[0].test[0].output).toEqual(g(1, 1, 4));
    expect(r.tasks[0].train).toEqual(loaded[0].train);
  });

  it('rejects solutions whose count does not match the test count, keeping the task', () => {
    const r = parseSources([challenges, { name: 'sol.json', text: JSON.stringify({ b: [g(1, 1)], zzz: [g(1, 1)] }) }]);
    expect(r.tasks.map((t) => t.id)).toEqual(['a', 'b']);
    expect(r.tasks[1].test[0].output).toBeUndefined();
    expect(r.errors.map(formatLoadError)).toEqual([
      'sol.json task b: has 1 solution grid(s), the task has 2 test input(s)',
      'sol.json: solutions for task(s) not loaded, ignored: zzz',
    ]);
  });

  it('loads the good files of a batch when one is bad', () => {
    const r = parseSources([{ name: 'x.json', text: 'nope' }, { name: 'y.json', text: JSON.stringify(task()) }]);
    expect(r.tasks.map((t) => t.id)).toEqual(['y']);
    expect(r.errors.map((e) => e.file)).toEqual(['x.json']);
  });
});

describe('readTaskFiles', () => {
  it('reads File objects and refuses files over the size limit unread', async () => {
    const small = new File([JSON.stringify(task())], 'small.json');
    // A sparse-looking but real blob just over the limit.
    const big = new File([new Uint8Array(MAX_FILE_BYTES + 1)], 'big.json');
    const r = await readTaskFiles([big, small]);
    expect(r.tasks.map((t) => t.id)).toEqual(['small']);
    expect(r.errors.map(formatLoadError)).toEqual(['big.json: file is 50.0 MB, over the 50 MB limit']);
  });
});

// The real ARC-AGI-2 training set must load without a single rejection.
const arc2 = path.resolve(import.meta.dirname, '../../../shared/arc-agi-2/training');
describe.skipIf(!existsSync(arc2))('real ARC-AGI-2 training tasks', () => {
  it('parses all 1000 files with no rejection', () => {
    const names = readdirSync(arc2).filter((n) => n.endsWith('.json'));
    const sources = names.map((n) => ({ name: n, text: readFileSync(path.join(arc2, n), 'utf8') }));
    const t0 = performance.now();
    const r = parseSources(sources);
    const ms = performance.now() - t0;
    console.log(`parsed ${r.tasks.length} ARC-AGI-2 training tasks in ${ms.toFixed(0)} ms`);
    expect(r.errors.map(formatLoadError)).toEqual([]);
    expect(names.length).toBe(1000);
    expect(r.tasks).toHaveLength(names.length);
  });
});
if (!existsSync(arc2)) console.warn(`SKIP real-task test: ${arc2} not found`);
