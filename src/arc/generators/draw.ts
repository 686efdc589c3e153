/** Grid helpers for the task generators (the generic ones live in ../grid.ts). Grids are rows of colours 0–9, 0 = background. */
import { dihedral } from '../augment.ts';
import type { Grid } from '../types.ts';
import type { Rng } from './rng.ts';

export const COLOURS = [1, 2, 3, 4, 5, 6, 7, 8, 9] as const;

export const rows = (g: Grid) => g.length;
export const cols = (g: Grid) => (g.length ? g[0].length : 0);

/** Random cells of the given colours on a 0 background, each cell set with probability `density`. */
export function scatter(rng: Rng, h: number, w: number, density: number, colours: readonly number[]): Grid {
  return Array.from({ length: h }, () =>
    Array.from({ length: w }, () => (rng.chance(density) ? rng.pick(colours) : 0)),
  );
}

/** Clockwise quarter turns as upstream dihedral ids (tid 1 is counter-clockwise). */
const CLOCKWISE_TID = [0, 3, 2, 1];

export const flipLeftRight = (g: Grid): Grid => dihedral(g, 4);
export const flipUpDown = (g: Grid): Grid => dihedral(g, 5);
export const transpose = (g: Grid): Grid => dihedral(g, 6);
export const rotateClockwise = (g: Grid, quarters: number): Grid => dihedral(g, CLOCKWISE_TID[((quarters % 4) + 4) % 4]);

export function countNonZero(g: Grid): number {
  return g.reduce((n, row) => n + row.filter((v) => v !== 0).length, 0);
}

/** Paint a filled rectangle in place. */
export function fillRect(g: Grid, r0: number, c0: number, h: number, w: number, colour: number): void {
  for (let r = r0; r < r0 + h; r++) for (let c = c0; c < c0 + w; c++) g[r][c] = colour;
}

/** True when every cell of the rectangle, grown by `margin` (clipped to the grid), is 0. */
export function rectIsFree(g: Grid, r0: number, c0: number, h: number, w: number, margin: number): boolean {
  for (let r = Math.max(0, r0 - margin); r < Math.min(rows(g), r0 + h + margin); r++)
    for (let c = Math.max(0, c0 - margin); c < Math.min(cols(g), c0 + w + margin); c++) if (g[r][c] !== 0) return false;
  return true;
}

/**
 * Place up to `count` rectangles with sides drawn from [minSide, maxSide] that keep
 * `margin` free cells between each other; returns their boxes (fewer if the grid is full).
 */
export function placeRects(
  rng: Rng,
  g: Grid,
  count: number,
  minSide: number,
  maxSide: number,
  margin: number,
  paint: (r0: number, c0: number, h: number, w: number, index: number) => void,
): { r: number; c: number; h: number; w: number }[] {
  const boxes: { r: number; c: number; h: number; w: number }[] = [];
  for (let tries = 0; boxes.length < count && tries < 200; tries++) {
    const h = rng.int(minSide, Math.min(maxSide, rows(g)));
    const w = rng.int(minSide, Math.min(maxSide, cols(g)));
    const r = rng.int(0, rows(g) - h);
    const c = rng.int(0, cols(g) - w);
    if (!rectIsFree(g, r, c, h, w, margin)) continue;
    paint(r, c, h, w, boxes.length);
    boxes.push({ r, c, h, w });
  }
  return boxes;
}
