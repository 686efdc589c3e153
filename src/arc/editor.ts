/**
 * The output editor as pure functions over an immutable state, so the UI stays a thin shell
 * and the behaviour is unit-tested without a DOM. Grids are never mutated in place.
 */
import { cloneGrid, filledGrid } from './grid.ts';
import { MAX_GRID_SIDE } from './parse.ts';
import type { Grid } from './types.ts';

export type Tool = 'draw' | 'select' | 'fill';

/** Inclusive cell rectangle, normalized so r0 ≤ r1 and c0 ≤ c1. */
export interface Selection {
  r0: number;
  c0: number;
  r1: number;
  c1: number;
}

export interface EditorState {
  grid: Grid;
  past: Grid[];
  future: Grid[];
}

/** Bounded so a long painting session cannot grow memory without limit. */
export const HISTORY_LIMIT = 200;

export function createEditor(grid: Grid): EditorState {
  return { grid, past: [], future: [] };
}

/**
 * Replaces the grid. `merge` folds the change into the last history entry, so one drag
 * stroke is undone as a whole.
 */
export function applyEdit(state: EditorState, next: Grid, merge = false): EditorState {
  if (next === state.grid) return state;
  if (merge) return { ...state, grid: next };
  const past = [...state.past, state.grid];
  if (past.length > HISTORY_LIMIT) past.shift();
  return { grid: next, past, future: [] };
}

export function undo(state: EditorState): EditorState {
  if (state.past.length === 0) return state;
  return { grid: state.past[state.past.length - 1], past: state.past.slice(0, -1), future: [state.grid, ...state.future] };
}

export function redo(state: EditorState): EditorState {
  if (state.future.length === 0) return state;
  return { grid: state.future[0], past: [...state.past, state.grid], future: state.future.slice(1) };
}

function inside(grid: Grid, r: number, c: number): boolean {
  return r >= 0 && c >= 0 && r < grid.length && c < grid[0].length;
}

/** Sets one cell; returns the same grid when nothing changes (keeps history clean). */
export function paintCell(grid: Grid, r: number, c: number, color: number): Grid {
  if (!inside(grid, r, c) || grid[r][c] === color) return grid;
  const next = grid.slice();
  next[r] = grid[r].slice();
  next[r][c] = color;
  return next;
}

/** 4-connected flood fill from (r, c), as in the original ARC testing interface. */
export function floodFill(grid: Grid, r: number, c: number, color: number): Grid {
  if (!inside(grid, r, c)) return grid;
  const target = grid[r][c];
  if (target === color) return grid;
  const next = cloneGrid(grid);
  const stack: [number, number][] = [[r, c]];
  while (stack.length > 0) {
    const [y, x] = stack.pop()!;
    if (!inside(next, y, x) || next[y][x] !== target) continue;
    next[y][x] = color;
    stack.push([y + 1, x], [y - 1, x], [y, x + 1], [y, x - 1]);
  }
  return next;
}

export function normalizeSelection(a: readonly [number, number], b: readonly [number, number]): Selection {
  return { r0: Math.min(a[0], b[0]), c0: Math.min(a[1], b[1]), r1: Math.max(a[0], b[0]), c1: Math.max(a[1], b[1]) };
}

/** Fills the selected rectangle (clipped to the grid). */
export function fillSelection(grid: Grid, sel: Selection, color: number): Grid {
  let changed = false;
  const next = grid.map((row, r) => {
    if (r < sel.r0 || r > sel.r1) return row;
    return row.map((v, c) => {
      if (c < sel.c0 || c > sel.c1 || v === color) return v;
      changed = true;
      return color;
    });
  });
  return changed ? next : grid;
}

/** New size keeping the top-left content, padding with colour 0 (the original interface's rule). */
export function resizeGrid(grid: Grid, rows: number, cols: number): Grid {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1 || rows > MAX_GRID_SIDE || cols > MAX_GRID_SIDE) {
    throw new RangeError(`grid size must be 1-${MAX_GRID_SIDE} × 1-${MAX_GRID_SIDE}, got ${rows}×${cols}`);
  }
  if (rows === grid.length && cols === grid[0].length) return grid;
  const next = filledGrid(rows, cols);
  for (let r = 0; r < Math.min(rows, grid.length); r++) {
    for (let c = 0; c < Math.min(cols, grid[r].length); c++) next[r][c] = grid[r][c];
  }
  return next;
}

/** Parses "HxW" / "H×W" / "H W" as typed in the size box; null when malformed. */
export function parseSize(text: string): [number, number] | null {
  const m = /^\s*(\d{1,2})\s*[x×*, ]\s*(\d{1,2})\s*$/i.exec(text);
  if (!m) return null;
  const rows = Number(m[1]);
  const cols = Number(m[2]);
  return rows >= 1 && cols >= 1 && rows <= MAX_GRID_SIDE && cols <= MAX_GRID_SIDE ? [rows, cols] : null;
}
