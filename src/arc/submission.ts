/**
 * Kaggle submission.json: {task_id: [{attempt_1, attempt_2}, … one per test input, in order]}.
 * Unlike upstream (which skips inputs without predictions), Kaggle needs every task, every test
 * input and both attempts, so gaps are filled with a blank placeholder and reported.
 */
import { validateGrid } from './parse.ts';
import type { Attempts, Grid, Task } from './types.ts';

export type Submission = Record<string, Attempts[]>;

export interface Placeholder {
  taskId: string;
  testIndex: number;
  /** 'unsolved': no prediction; 'empty': a prediction cropped to 0×0, which Kaggle cannot take. */
  reason: 'unsolved' | 'empty';
}

/** What fills a missing attempt: the smallest valid grid. */
export const PLACEHOLDER_GRID: Grid = [[0]];

const isEmpty = (g: Grid) => g.length === 0 || g[0].length === 0;

export function buildSubmission(
  tasks: readonly Task[],
  attemptsFor: (taskId: string, testIndex: number) => Attempts | undefined,
): { submission: Submission; placeholders: Placeholder[] } {
  const submission: Submission = {};
  const placeholders: Placeholder[] = [];
  for (const task of tasks) {
    submission[task.id] = task.test.map((_, i) => {
      const a = attemptsFor(task.id, i);
      if (!a) {
        placeholders.push({ taskId: task.id, testIndex: i, reason: 'unsolved' });
        return { attempt_1: PLACEHOLDER_GRID, attempt_2: PLACEHOLDER_GRID };
      }
      if (isEmpty(a.attempt_1) || isEmpty(a.attempt_2)) placeholders.push({ taskId: task.id, testIndex: i, reason: 'empty' });
      return {
        attempt_1: isEmpty(a.attempt_1) ? PLACEHOLDER_GRID : a.attempt_1,
        attempt_2: isEmpty(a.attempt_2) ? PLACEHOLDER_GRID : a.attempt_2,
      };
    });
  }
  return { submission, placeholders };
}

/**
 * Checks a parsed submission against the tasks it answers; returns every problem found (empty =
 * valid): all task ids and no others, one entry per test input, both attempts, each a rectangular
 * grid of integers 0-9 of 1..30 per side.
 */
export function validateSubmission(value: unknown, tasks: readonly Task[]): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['submission is not an object {task_id: [...]}'];
  const sub = value as Record<string, unknown>;
  const problems: string[] = [];
  const ids = new Set(tasks.map((t) => t.id));
  for (const id of Object.keys(sub)) if (!ids.has(id)) problems.push(`${id}: not a loaded task`);
  for (const task of tasks) {
    const entries = sub[task.id];
    if (!Array.isArray(entries)) {
      problems.push(`${task.id}: missing, or not a list of attempts`);
      continue;
    }
    if (entries.length !== task.test.length) {
      problems.push(`${task.id}: has ${entries.length} entries, the task has ${task.test.length} test input(s)`);
    }
    entries.forEach((entry: unknown, i) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        problems.push(`${task.id}[${i}]: not an object {attempt_1, attempt_2}`);
        return;
      }
      for (const key of ['attempt_1', 'attempt_2'] as const) {
        if (!(key in entry)) {
          problems.push(`${task.id}[${i}].${key}: missing`);
          continue;
        }
        try {
          validateGrid((entry as Record<string, unknown>)[key], `${task.id}[${i}].${key}`);
        } catch (e) {
          problems.push((e as Error).message);
        }
      }
    });
  }
  return problems;
}
