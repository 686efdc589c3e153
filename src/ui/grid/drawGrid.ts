/**
 * Pure canvas drawing of an ARC grid, shared by the task view, the editor and the solver
 * visualizer. Geometry is in CSS pixels; the caller scales the context for devicePixelRatio.
 */
import type { Selection } from '../../arc/editor.ts';
import { textColorOn } from '../../arc/palette.ts';
import type { Grid } from '../../arc/types.ts';

/** The subset of CanvasRenderingContext2D that drawGrid uses. */
export type GridContext = Pick<
  CanvasRenderingContext2D,
  'fillStyle' | 'strokeStyle' | 'lineWidth' | 'globalAlpha' | 'font' | 'textAlign' | 'textBaseline' | 'fillRect' | 'strokeRect' | 'fillText' | 'setLineDash' | 'save' | 'restore'
>;

export interface DrawGridOptions {
  /** Ten colours, index = ARC colour. */
  palette: readonly string[];
  /** Size of one cell in CSS pixels, grid line included. */
  cellSize: number;
  /** 1px lines between cells (default true). */
  gridLines?: boolean;
  lineColor?: string;
  /** Colour behind translucent cells. */
  background?: string;
  /** Draw each cell's colour number. */
  numbers?: boolean;
  /** Per-cell opacity 0–1, row-major (rows × cols), e.g. model confidence. */
  alpha?: ArrayLike<number>;
  /** Per-cell highlight strength 0–1, row-major, painted in `color` over the cell. */
  highlight?: { mask: ArrayLike<number>; color: string };
  /** Dashed outline around a cell rectangle (editor selection). */
  selection?: Selection | null;
}

export const DEFAULT_LINE_COLOR = '#3b4150';
/** Below this the numbers overlay would be unreadable, so it is skipped. */
export const MIN_NUMBER_CELL = 12;

/** Line width in CSS px: lines are drawn inside each cell's box, plus one closing line. */
function gap(opts: Pick<DrawGridOptions, 'gridLines'>): number {
  return opts.gridLines === false ? 0 : 1;
}

export function gridPixelSize(rows: number, cols: number, opts: Pick<DrawGridOptions, 'cellSize' | 'gridLines'>) {
  const g = gap(opts);
  return { width: cols * opts.cellSize + g, height: rows * opts.cellSize + g };
}

/** The cell under a point in CSS px relative to the grid's top-left, or null outside. */
export function cellAt(
  x: number,
  y: number,
  rows: number,
  cols: number,
  opts: Pick<DrawGridOptions, 'cellSize' | 'gridLines'>,
): [number, number] | null {
  const g = gap(opts);
  const r = Math.floor((y - g / 2) / opts.cellSize);
  const c = Math.floor((x - g / 2) / opts.cellSize);
  return r >= 0 && c >= 0 && r < rows && c < cols ? [r, c] : null;
}

/** Centre of a cell's coloured area in CSS px: where a pixel read-back sees the cell colour. */
export function cellCenter(r: number, c: number, opts: Pick<DrawGridOptions, 'cellSize' | 'gridLines'>): [number, number] {
  const g = gap(opts);
  return [c * opts.cellSize + g + (opts.cellSize - g) / 2, r * opts.cellSize + g + (opts.cellSize - g) / 2];
}

/**
 * The largest integer cell size (so cells stay crisp) that fits the box, clamped to
 * [min, max] so 1×1 grids are not huge and 30×30 grids stay clickable.
 */
export function fitCellSize(
  rows: number,
  cols: number,
  maxWidth: number,
  maxHeight: number,
  limits: { min: number; max: number },
): number {
  const fit = Math.floor(Math.min((maxWidth - 1) / cols, (maxHeight - 1) / rows));
  return Math.max(limits.min, Math.min(limits.max, fit));
}

export function drawGrid(ctx: GridContext, grid: Grid, opts: DrawGridOptions): void {
  const rows = grid.length;
  const cols = grid[0]?.length ?? 0;
  const cs = opts.cellSize;
  const g = gap(opts);
  const inner = cs - g;
  const { width, height } = gridPixelSize(rows, cols, opts);
  ctx.save();
  ctx.globalAlpha = 1;
  // Lines are the background showing through the gaps between cells.
  ctx.fillStyle = g > 0 ? (opts.lineColor ?? DEFAULT_LINE_COLOR) : (opts.background ?? '#000000');
  ctx.fillRect(0, 0, width, height);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = c * cs + g;
      const y = r * cs + g;
      const a = opts.alpha ? opts.alpha[r * cols + c] : 1;
      if (a < 1) {
        ctx.globalAlpha = 1;
        ctx.fillStyle = opts.background ?? '#000000';
        ctx.fillRect(x, y, inner, inner);
      }
      ctx.globalAlpha = Math.max(0, a);
      ctx.fillStyle = opts.palette[grid[r][c]] ?? '#ff00ff';
      ctx.fillRect(x, y, inner, inner);
      const h = opts.highlight ? opts.highlight.mask[r * cols + c] : 0;
      if (h > 0) {
        ctx.globalAlpha = Math.min(1, h);
        ctx.fillStyle = opts.highlight!.color;
        ctx.fillRect(x, y, inner, inner);
      }
    }
  }
  ctx.globalAlpha = 1;
  if (opts.numbers && cs >= MIN_NUMBER_CELL) {
    ctx.font = `600 ${Math.round(inner * 0.55)}px ui-monospace, Menlo, Consolas, monospace`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = grid[r][c];
        ctx.fillStyle = textColorOn(opts.palette[v] ?? '#000000');
        ctx.fillText(String(v), c * cs + g + inner / 2, r * cs + g + inner / 2 + 0.5);
      }
    }
  }
  if (opts.selection) {
    const s = opts.selection;
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#ffffff';
    ctx.setLineDash([4, 3]);
    ctx.strokeRect(s.c0 * cs + 1, s.r0 * cs + 1, (s.c1 - s.c0 + 1) * cs - 1 + g, (s.r1 - s.r0 + 1) * cs - 1 + g);
  }
  ctx.restore();
}
