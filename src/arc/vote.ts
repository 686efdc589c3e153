/**
 * Upstream voting (evaluators/arc.py `result`) over the de-augmented predictions of all variants
 * of one test input: identical grids are grouped, counted, and ranked by (count, mean
 * sigmoid(q_halt)) descending; the top two become attempt_1 / attempt_2.
 */
import type { Attempts, Grid } from './types.ts';

export interface VotePrediction {
  /** De-augmented, cropped prediction (may be 0×0 when the canvas did not start with a colour). */
  grid: Grid;
  /** Raw q_halt logit of the variant's last ACT step. */
  qHalt: number;
}

export interface Candidate {
  grid: Grid;
  hash: string;
  count: number;
  /** Mean sigmoid(q_halt) over the variants that predicted this grid. */
  meanQ: number;
  /** Indexes (into the predictions passed to `vote`) of the variants that predicted this grid. */
  variants: number[];
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Identity of a grid as upstream hashes it: rows, cols and the row-major data. */
export function gridHash(grid: Grid): string {
  return `${grid.length}x${grid[0]?.length ?? 0}:${grid.map((r) => r.join(',')).join(';')}`;
}

export function vote(predictions: readonly VotePrediction[]): Candidate[] {
  const byHash = new Map<string, Candidate & { sumQ: number }>();
  predictions.forEach((p, i) => {
    const hash = gridHash(p.grid);
    let c = byHash.get(hash);
    if (!c) byHash.set(hash, (c = { grid: p.grid, hash, count: 0, meanQ: 0, sumQ: 0, variants: [] }));
    c.count++;
    c.sumQ += sigmoid(p.qHalt);
    c.variants.push(i);
  });
  // A stable sort keeps first-seen order among exact ties, as Python's sorted(reverse=True) does.
  return [...byHash.values()]
    .map(({ sumQ, ...c }) => ({ ...c, meanQ: sumQ / c.count }))
    .sort((a, b) => b.count - a.count || b.meanQ - a.meanQ);
}

/** The top two candidates; a single candidate is repeated. Undefined when nothing was predicted. */
export function attemptsFrom(candidates: readonly Candidate[]): Attempts | undefined {
  if (candidates.length === 0) return undefined;
  return { attempt_1: candidates[0].grid, attempt_2: (candidates[1] ?? candidates[0]).grid };
}

/** pass@K for one test input: the solution is among the top K candidates. */
export function correctAtK(candidates: readonly Candidate[], solution: Grid, k: number): boolean {
  const want = gridHash(solution);
  return candidates.slice(0, k).some((c) => c.hash === want);
}
