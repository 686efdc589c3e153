/**
 * pass@K scoring as upstream's evaluator reports it: a test input is correct at K when its
 * solution is among the top K voted candidates, a task scores the fraction of its test inputs
 * that are correct, and the summary is the mean over tasks.
 */
import type { Task } from './types.ts';
import { correctAtK, type Candidate } from './vote.ts';

export const DEFAULT_KS: readonly number[] = [1, 2];

export interface TaskScore {
  taskId: string;
  /** Per test input, keyed by K; undefined for inputs whose solution is unknown. */
  inputs: (Record<number, boolean> | undefined)[];
  /** Keyed by K: fraction of the scored test inputs that are correct. */
  passAt: Record<number, number>;
}

export interface ScoreSummary {
  /** Tasks passed in. */
  tasks: number;
  /** Tasks with at least one known solution: the denominator of passAt. */
  scored: number;
  /** Keyed by K: mean task score over the scored tasks (0 when none are scored). */
  passAt: Record<number, number>;
}

/**
 * Scores one task from its candidates per test input (undefined or [] = not solved, which counts
 * as wrong). Returns undefined when no test input has a known solution.
 */
export function scoreTask(
  task: Task,
  candidates: readonly (readonly Candidate[] | undefined)[],
  ks: readonly number[] = DEFAULT_KS,
): TaskScore | undefined {
  const inputs = task.test.map((t, i) => {
    if (!t.output) return undefined;
    const solution = t.output;
    return Object.fromEntries(ks.map((k) => [k, correctAtK(candidates[i] ?? [], solution, k)])) as Record<number, boolean>;
  });
  const scored = inputs.filter((x): x is Record<number, boolean> => x !== undefined);
  if (scored.length === 0) return undefined;
  const passAt = Object.fromEntries(ks.map((k) => [k, scored.filter((x) => x[k]).length / scored.length]));
  return { taskId: task.id, inputs, passAt };
}

export function summariseScores(
  scores: readonly (TaskScore | undefined)[],
  ks: readonly number[] = DEFAULT_KS,
): ScoreSummary {
  const scored = scores.filter((s): s is TaskScore => s !== undefined);
  const passAt = Object.fromEntries(
    ks.map((k) => [k, scored.length === 0 ? 0 : scored.reduce((sum, s) => sum + s.passAt[k], 0) / scored.length]),
  );
  return { tasks: scores.length, scored: scored.length, passAt };
}
