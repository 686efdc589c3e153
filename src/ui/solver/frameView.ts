/**
 * Pure per-frame derivations for the visualizer: which frame is shown, what changed since the
 * previous one, how the prediction compares with the solution, and the q_halt curve.
 */
import { gridsEqual } from '../../arc/grid.ts';
import type { Grid } from '../../arc/types.ts';
import { sigmoid } from '../../arc/vote.ts';
import type { FrameBatch } from '../../engine/protocol.ts';
import type { SolveState } from '../../state/solve.ts';

/** The frame index on screen: the pinned one, else the newest; -1 when there are no frames. */
export function shownFrameIndex(s: Pick<SolveState, 'live' | 'frame'>): number {
  const n = s.live?.frames.length ?? 0;
  if (n === 0) return -1;
  return s.frame === null ? n - 1 : Math.max(0, Math.min(n - 1, s.frame));
}

/** "Step 3/16 · H 2/3" for a frame. */
export function frameLabel(f: Pick<FrameBatch, 'act' | 'h'>, steps: number, hCycles: number): string {
  return `Step ${f.act + 1}/${steps} · H-cycle ${f.h + 1}/${hCycles}`;
}

/**
 * Row-major mask, 1 where a cell differs from the previous frame's grid. A change of shape marks
 * every cell; no previous grid marks nothing.
 */
export function changedMask(prev: Grid | undefined, cur: Grid): Float32Array {
  const rows = cur.length, cols = cur[0]?.length ?? 0;
  const mask = new Float32Array(rows * cols);
  if (!prev) return mask;
  const sameShape = prev.length === rows && (prev[0]?.length ?? 0) === cols;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mask[r * cols + c] = !sameShape || prev[r][c] !== cur[r][c] ? 1 : 0;
  return mask;
}

export interface Accuracy {
  exact: boolean;
  sameShape: boolean;
  /** Cells equal to the solution (0 when shapes differ). */
  matching: number;
  /** Cells of the solution. */
  total: number;
}

export function accuracy(pred: Grid, solution: Grid): Accuracy {
  const total = solution.length * (solution[0]?.length ?? 0);
  const sameShape = pred.length === solution.length && (pred[0]?.length ?? 0) === (solution[0]?.length ?? 0);
  let matching = 0;
  if (sameShape) solution.forEach((row, r) => row.forEach((v, c) => { if (pred[r][c] === v) matching++; }));
  return { exact: sameShape && gridsEqual(pred, solution), sameShape, matching, total };
}

export interface QPoint {
  /** ACT step, 0-based. */
  act: number;
  /** sigmoid(q_halt) at the end of the step. */
  q: number;
  /** The model would halt here (first step with q > 0.5). */
  haltHere: boolean;
}

/** sigmoid(q_halt) at the end of each ACT step (the readout upstream's halting uses) for one variant. */
export function qSeries(frames: readonly FrameBatch[], variant: number, hCycles: number): QPoint[] {
  return frames
    .filter((f) => f.h === hCycles - 1 && variant < f.batch)
    .map((f) => ({ act: f.act, q: sigmoid(f.qHalt[variant]), haltHere: f.haltHere[variant] }));
}

/** Row-major flattening of per-cell confidences (drawGrid's alpha layout). */
export function flatten(cells: readonly (readonly number[])[]): Float32Array {
  const cols = cells[0]?.length ?? 0;
  const out = new Float32Array(cells.length * cols);
  cells.forEach((row, r) => row.forEach((v, c) => { out[r * cols + c] = v; }));
  return out;
}
