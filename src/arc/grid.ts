/** Small grid helpers shared by the editor, the checker and the UI. */
import type { Grid } from './types.ts';

export function gridsEqual(a: Grid, b: Grid): boolean {
  return a.length === b.length && a.every((row, r) => row.length === b[r].length && row.every((v, c) => v === b[r][c]));
}

export function filledGrid(rows: number, cols: number, color = 0): Grid {
  return Array.from({ length: rows }, () => new Array<number>(cols).fill(color));
}

export function cloneGrid(g: Grid): Grid {
  return g.map((row) => row.slice());
}

/** "rows×cols" */
export function gridSizeLabel(g: Grid): string {
  return `${g.length}×${g[0]?.length ?? 0}`;
}
