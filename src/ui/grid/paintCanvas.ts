/** Sizes a <canvas> for a grid (backing store scaled by devicePixelRatio, so cells stay sharp) and draws it. */
import type { Grid } from '../../arc/types.ts';
import { drawGrid, gridPixelSize, type DrawGridOptions } from './drawGrid.ts';

export function paintCanvas(canvas: HTMLCanvasElement, grid: Grid, opts: DrawGridOptions, dpr = window.devicePixelRatio || 1): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width, height } = gridPixelSize(grid.length, grid[0]?.length ?? 0, opts);
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  drawGrid(ctx, grid, opts);
}
