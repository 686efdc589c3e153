/**
 * React wrapper around drawGrid: sizes cells to the available width (and a height budget),
 * scales the backing store by devicePixelRatio so cells stay sharp, and reports cell-level
 * pointer events for the editor.
 */
import { useEffect, useLayoutEffect, useRef, useState, type PointerEvent as ReactPointerEvent } from 'react';
import { PALETTES } from '../../arc/palette.ts';
import type { Grid } from '../../arc/types.ts';
import { useAppStore } from '../useAppStore.ts';
import { cellAt, fitCellSize, gridPixelSize, type DrawGridOptions } from './drawGrid.ts';
import { paintCanvas } from './paintCanvas.ts';

export interface CellPointerEvent {
  row: number;
  col: number;
  /** 'down' starts a gesture, 'move' continues it while a button is held. */
  phase: 'down' | 'move';
  /** The secondary (right) button is held. */
  secondary: boolean;
}

export interface GridCanvasProps {
  grid: Grid;
  /** Accessible name, e.g. "Train 1 input". */
  label: string;
  /** Height budget in CSS px; the width budget is the container's width. */
  maxHeight?: number;
  /** Largest and smallest cell size in CSS px. */
  maxCell?: number;
  minCell?: number;
  /** Extra drawing options (highlight, alpha, selection); palette/numbers/lines come from settings. */
  draw?: Pick<DrawGridOptions, 'alpha' | 'highlight' | 'selection'>;
  onCellPointer?: (e: CellPointerEvent) => void;
  className?: string;
}

function useDevicePixelRatio(): number {
  const [dpr, setDpr] = useState(() => window.devicePixelRatio || 1);
  useEffect(() => {
    // A resolution query matches only the current ratio, so it fires once when zoom changes it.
    const mq = window.matchMedia(`(resolution: ${dpr}dppx)`);
    const onChange = () => setDpr(window.devicePixelRatio || 1);
    mq.addEventListener('change', onChange);
    return () => mq.removeEventListener('change', onChange);
  }, [dpr]);
  return dpr;
}

function useWidth(ref: React.RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return width;
}

export function GridCanvas({ grid, label, maxHeight = 320, maxCell = 36, minCell = 5, draw, onCellPointer, className }: GridCanvasProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const settings = useAppStore((s) => s.settings);
  const dpr = useDevicePixelRatio();
  const width = useWidth(boxRef);
  const rows = grid.length;
  const cols = grid[0]?.length ?? 0;
  // Before the first measurement, draw at the largest size; the observer corrects it at once.
  const cellSize = fitCellSize(rows, cols, width || Infinity, maxHeight, { min: minCell, max: maxCell });
  const geometry = { cellSize, gridLines: settings.gridLines };
  const { width: w, height: h } = gridPixelSize(rows, cols, geometry);

  useLayoutEffect(() => {
    if (!canvasRef.current) return;
    const opts = { palette: PALETTES[settings.palette].colors, cellSize, gridLines: settings.gridLines, numbers: settings.showNumbers, ...draw };
    paintCanvas(canvasRef.current, grid, opts, dpr);
  }, [grid, cellSize, dpr, settings, draw?.alpha, draw?.highlight, draw?.selection]);

  const pointer = (phase: CellPointerEvent['phase']) => (e: ReactPointerEvent<HTMLCanvasElement>) => {
    if (!onCellPointer) return;
    if (phase === 'move' && e.buttons === 0) return;
    if (phase === 'down') e.currentTarget.setPointerCapture(e.pointerId);
    const rect = e.currentTarget.getBoundingClientRect();
    const cell = cellAt(e.clientX - rect.left, e.clientY - rect.top, rows, cols, geometry);
    if (cell) onCellPointer({ row: cell[0], col: cell[1], phase, secondary: (e.buttons & 2) !== 0 });
  };

  return (
    <div ref={boxRef} className={`grid-box ${className ?? ''}`}>
      <canvas
        ref={canvasRef}
        role="img"
        aria-label={`${label}, ${rows}×${cols}`}
        data-rows={rows}
        data-cols={cols}
        data-cell-size={cellSize}
        data-grid-lines={settings.gridLines ? 1 : 0}
        style={{ width: w, height: h }}
        className={onCellPointer ? 'editable' : undefined}
        onPointerDown={onCellPointer ? pointer('down') : undefined}
        onPointerMove={onCellPointer ? pointer('move') : undefined}
        onContextMenu={onCellPointer ? (e) => e.preventDefault() : undefined}
      />
    </div>
  );
}
