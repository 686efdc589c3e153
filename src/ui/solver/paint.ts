/**
 * Imperative drawing for the live visualizer: frames arrive faster than React should render,
 * so canvases are painted from store subscriptions with the shared drawGrid.
 */
import { useEffect } from 'react';
import { PALETTES } from '../../arc/palette.ts';
import type { Grid } from '../../arc/types.ts';
import type { AppState } from '../../state/store.ts';
import { fitCellSize, type DrawGridOptions } from '../grid/drawGrid.ts';
import { paintCanvas } from '../grid/paintCanvas.ts';
import { appStore } from '../useAppStore.ts';

export interface PaintOptions extends Pick<DrawGridOptions, 'alpha' | 'highlight'> {
  maxWidth: number;
  maxHeight: number;
  maxCell?: number;
  minCell?: number;
}

/** Sizes `canvas` to the grid (devicePixelRatio-sharp) and draws it with the user's display settings. */
export function paintGrid(canvas: HTMLCanvasElement, grid: Grid, settings: AppState['settings'], o: PaintOptions): void {
  const rows = grid.length, cols = grid[0]?.length ?? 0;
  if (rows === 0 || cols === 0) {
    // A 0×0 crop: the model did not start its canvas with a colour.
    canvas.width = canvas.height = 0;
    canvas.style.width = canvas.style.height = '0px';
    return;
  }
  const cellSize = fitCellSize(rows, cols, o.maxWidth, o.maxHeight, { min: o.minCell ?? 2, max: o.maxCell ?? 32 });
  paintCanvas(canvas, grid, {
    palette: PALETTES[settings.palette].colors,
    cellSize,
    gridLines: settings.gridLines,
    numbers: settings.showNumbers,
    alpha: o.alpha,
    highlight: o.highlight,
  });
}

/**
 * Calls `draw` with the store state whenever one of `keysOf`'s values changes (by identity),
 * at most once per animation frame, without re-rendering React.
 */
export function useStoreDraw(keysOf: (s: AppState) => unknown[], draw: (s: AppState) => void, deps: readonly unknown[]): void {
  useEffect(() => {
    let last: unknown[] = [];
    let pending = 0;
    const run = () => {
      pending = 0;
      const s = appStore.getState();
      const keys = keysOf(s);
      if (keys.length === last.length && keys.every((k, i) => k === last[i])) return;
      last = keys;
      draw(s);
    };
    run();
    const unsubscribe = appStore.subscribe(() => {
      if (!pending) pending = requestAnimationFrame(run);
    });
    return () => {
      unsubscribe();
      cancelAnimationFrame(pending);
    };
  }, deps);
}

/** useStoreDraw on the live run, the shown frame or variant, and the display settings. */
export function useLiveDraw(draw: (s: AppState) => void, deps: readonly unknown[]): void {
  useStoreDraw((s) => [s.solve.live, s.solve.frame, s.solve.variant, s.settings], draw, deps);
}
