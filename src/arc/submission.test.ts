import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseSource } from './parse.ts';
import { buildSubmission, PLACEHOLDER_GRID, validateSubmission } from './submission.ts';
import type { Attempts, Task } from './types.ts';

const t1: Task = { id: 'aaa', train: [], test: [{ input: [[1]] }, { input: [[2]] }] };
const t2: Task = { id: 'bbb', train: [], test: [{ input: [[3]] }] };

describe('buildSubmission', () => {
  test('every task, one entry per test input in order, gaps filled and reported', () => {
    const solved: Record<string, Attempts> = {
      'aaa/1': { attempt_1: [[5, 5]], attempt_2: [[6, 6]] },
      'bbb/0': { attempt_1: [], attempt_2: [[4]] },
    };
    const { submission, placeholders } = buildSubmission([t1, t2], (id, i) => solved[`${id}/${i}`]);
    expect(submission).toEqual({
      aaa: [{ attempt_1: [[0]], attempt_2: [[0]] }, { attempt_1: [[5, 5]], attempt_2: [[6, 6]] }],
      bbb: [{ attempt_1: [[0]], attempt_2: [[4]] }],
    });
    expect(placeholders).toEqual([
      { taskId: 'aaa', testIndex: 0, reason: 'unsolved' },
      { taskId: 'bbb', testIndex: 0, reason: 'empty' },
    ]);
    expect(validateSubmission(JSON.parse(JSON.stringify(submission)), [t1, t2])).toEqual([]);
  });
});

describe('validateSubmission', () => {
  const good = () => ({
    aaa: [{ attempt_1: [[1]], attempt_2: [[1, 2], [3, 4]] }, { attempt_1: [[0]], attempt_2: [[9]] }],
    bbb: [{ attempt_1: [[3]], attempt_2: [[3]] }],
  });

  test('a complete submission is valid', () => {
    expect(validateSubmission(good(), [t1, t2])).toEqual([]);
  });

  test('finds missing and extra ids, wrong entry counts and missing attempts', () => {
    const s: Record<string, unknown> = good();
    delete s.bbb;
    s.zzz = [];
    (s.aaa as unknown[]).pop();
    expect(validateSubmission(s, [t1, t2])).toEqual([
      'zzz: not a loaded task',
      'aaa: has 1 entries, the task has 2 test input(s)',
      'bbb: missing, or not a list of attempts',
    ]);
    const m = good() as Record<string, unknown[]>;
    m.bbb[0] = { attempt_1: [[3]] };
    expect(validateSubmission(m, [t1, t2])).toEqual(['bbb[0].attempt_2: missing']);
  });

  test('finds bad grids: out-of-range colours, non-integers, ragged, empty, over 30 rows', () => {
    const cases: [unknown, RegExp][] = [
      [[[10]], /aaa\[0\]\.attempt_1 row 0 col 0 is 10/],
      [[[1.5]], /expected an integer colour/],
      [[['1']], /expected an integer colour/],
      [[[1, 2], [3]], /row 1 has 1 cells/],
      [[], /empty/],
      [Array.from({ length: 31 }, () => [0]), /31 rows/],
    ];
    for (const [grid, message] of cases) {
      const s = good() as Record<string, { attempt_1: unknown }[]>;
      s.aaa[0].attempt_1 = grid;
      const problems = validateSubmission(s, [t1, t2]);
      expect(problems.length, JSON.stringify(grid)).toBe(1);
      expect(problems[0]).toMatch(message);
    }
    expect(validateSubmission([], [t1])).toEqual(['submission is not an object {task_id: [...]}']);
  });
});

const trainingDir = resolve(import.meta.dirname, '../../../shared/arc-agi-2/training');

test.skipIf(!existsSync(trainingDir))('an all-unsolved submission for the real ARC-AGI-2 training tasks is valid (needs ../shared/arc-agi-2)', () => {
  const tasks = readdirSync(trainingDir).filter((f) => f.endsWith('.json')).sort().flatMap((f) =>
    parseSource({ name: f, text: readFileSync(resolve(trainingDir, f), 'utf8') }).tasks);
  expect(tasks.length).toBe(1000);
  const { submission, placeholders } = buildSubmission(tasks, () => undefined);
  expect(placeholders.length).toBe(tasks.reduce((n, t) => n + t.test.length, 0));
  expect(submission[tasks[0].id][0].attempt_1).toEqual(PLACEHOLDER_GRID);
  expect(validateSubmission(JSON.parse(JSON.stringify(submission)), tasks)).toEqual([]);
});
