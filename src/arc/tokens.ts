/**
 * Grid ⇄ token canvas, as upstream's build_arc_dataset.py lays grids out and evaluators/arc.py
 * reads predictions back, generalised from 30 to any `gridSize` (the model's config.grid_size).
 */
import type { Grid } from './types.ts';

export const PAD = 0;
export const EOS = 1;
/** Token of colour c is c + COLOUR_OFFSET, so colours occupy tokens 2..11. */
export const COLOUR_OFFSET = 2;
const LAST_COLOUR_TOKEN = COLOUR_OFFSET + 9;

export interface CanvasOffset {
  row: number;
  col: number;
}

/**
 * Row-major gridSize×gridSize canvas: PAD everywhere, the grid as colour+2 at `offset`, EOS on the
 * row just below and the column just right of it (skipped when the grid reaches the canvas edge).
 * The corner cell below-right stays PAD, as upstream leaves it. Test inputs always sit at (0,0).
 */
export function gridToTokens(grid: Grid, gridSize: number, offset: CanvasOffset = { row: 0, col: 0 }): Int32Array {
  const rows = grid.length;
  const cols = rows > 0 ? grid[0].length : 0;
  if (rows === 0 || cols === 0) throw new RangeError('grid is empty; ARC grids are at least 1×1');
  const { row: r0, col: c0 } = offset;
  if (!Number.isInteger(r0) || !Number.isInteger(c0) || r0 < 0 || c0 < 0) {
    throw new RangeError(`offset (${r0}, ${c0}) must be non-negative integers`);
  }
  if (r0 + rows > gridSize || c0 + cols > gridSize) {
    throw new RangeError(`a ${rows}×${cols} grid at (${r0}, ${c0}) does not fit a ${gridSize}×${gridSize} canvas`);
  }
  const out = new Int32Array(gridSize * gridSize).fill(PAD);
  for (let r = 0; r < rows; r++) {
    const line = grid[r];
    if (line.length !== cols) throw new RangeError(`grid row ${r} has ${line.length} cells, row 0 has ${cols}`);
    for (let c = 0; c < cols; c++) {
      const v = line[c];
      if (!Number.isInteger(v) || v < 0 || v > 9) throw new RangeError(`grid row ${r} col ${c} is ${v}, expected a colour 0-9`);
      out[(r0 + r) * gridSize + c0 + c] = v + COLOUR_OFFSET;
    }
  }
  if (r0 + rows < gridSize) for (let c = 0; c < cols; c++) out[(r0 + rows) * gridSize + c0 + c] = EOS;
  if (c0 + cols < gridSize) for (let r = 0; r < rows; r++) out[(r0 + r) * gridSize + c0 + cols] = EOS;
  return out;
}

const isColourToken = (t: number) => t >= COLOUR_OFFSET && t <= LAST_COLOUR_TOKEN;

/**
 * The largest rectangle anchored at (0,0) holding only colour tokens, found as evaluators/arc.py
 * `_crop` does: the width can only shrink row by row, and a strictly larger area wins (so among
 * equal areas the shorter, wider one found first stays). Returns 0×0 ([]) when cell (0,0) is not a
 * colour. `tokens` is one canvas of gridSize² tokens (pass a subarray for one row of a batch).
 */
export function cropTokens(tokens: ArrayLike<number>, gridSize: number): Grid {
  if (tokens.length !== gridSize * gridSize) {
    throw new RangeError(`canvas has ${tokens.length} tokens, expected ${gridSize}×${gridSize}`);
  }
  let width = gridSize;
  let bestRows = 0, bestCols = 0;
  for (let r = 1; r <= gridSize; r++) {
    const base = (r - 1) * gridSize;
    for (let c = 0; c < width; c++) {
      if (!isColourToken(tokens[base + c])) {
        width = c;
        break;
      }
    }
    if (r * width > bestRows * bestCols) {
      bestRows = r;
      bestCols = width;
    }
  }
  const grid: Grid = [];
  for (let r = 0; r < bestRows; r++) {
    const line = new Array<number>(bestCols);
    for (let c = 0; c < bestCols; c++) line[c] = tokens[r * gridSize + c] - COLOUR_OFFSET;
    grid.push(line);
  }
  return grid;
}
