import { describe, expect, it } from 'vitest';
import { PALETTES } from '../../arc/palette.ts';
import { MIN_NUMBER_CELL, cellAt, cellCenter, drawGrid, fitCellSize, gridPixelSize, type GridContext } from './drawGrid.ts';

/** Records what drawGrid paints, resolving each fillRect to its fill colour and alpha. */
function recorder() {
  const rects: { x: number; y: number; w: number; h: number; color: string; alpha: number }[] = [];
  const texts: { text: string; x: number; y: number; color: string }[] = [];
  const ctx = {
    fillStyle: '',
    strokeStyle: '',
    lineWidth: 1,
    globalAlpha: 1,
    font: '',
    textAlign: 'start',
    textBaseline: 'alphabetic',
    fillRect(x: number, y: number, w: number, h: number) {
      rects.push({ x, y, w, h, color: String(this.fillStyle), alpha: this.globalAlpha });
    },
    strokeRect() {},
    fillText(text: string, x: number, y: number) {
      texts.push({ text, x, y, color: String(this.fillStyle) });
    },
    setLineDash() {},
    save() {},
    restore() {},
  };
  return { ctx: ctx as unknown as GridContext, rects, texts };
}

/** The last opaque fill covering a point: what a pixel read-back would see. */
function colorAt(rects: ReturnType<typeof recorder>['rects'], px: number, py: number) {
  const hit = rects.filter((r) => r.alpha === 1 && px >= r.x && px < r.x + r.w && py >= r.y && py < r.y + r.h);
  return hit[hit.length - 1]?.color;
}

const palette = PALETTES.arcprize.colors;

describe('grid geometry', () => {
  it('sizes include one closing grid line', () => {
    expect(gridPixelSize(3, 5, { cellSize: 10 })).toEqual({ width: 51, height: 31 });
    expect(gridPixelSize(3, 5, { cellSize: 10, gridLines: false })).toEqual({ width: 50, height: 30 });
  });

  it('maps points to cells and back', () => {
    const opts = { cellSize: 12 };
    for (const [r, c] of [[0, 0], [2, 4], [29, 29]] as const) {
      const [x, y] = cellCenter(r, c, opts);
      expect(cellAt(x, y, 30, 30, opts)).toEqual([r, c]);
    }
    expect(cellAt(-1, 5, 3, 3, opts)).toBeNull();
    expect(cellAt(5, 3 * 12 + 2, 3, 3, opts)).toBeNull();
  });

  it('fits integer cells inside the box within the limits', () => {
    expect(fitCellSize(30, 30, 301, 1000, { min: 4, max: 40 })).toBe(10);
    expect(fitCellSize(1, 1, 1000, 1000, { min: 4, max: 40 })).toBe(40);
    expect(fitCellSize(30, 30, 50, 50, { min: 4, max: 40 })).toBe(4);
    expect(fitCellSize(10, 2, 1000, 101, { min: 4, max: 40 })).toBe(10);
  });
});

describe('drawGrid', () => {
  const grid = [
    [0, 1, 2],
    [3, 4, 9],
  ];

  it('paints each cell in its palette colour over grid-line background', () => {
    const { ctx, rects } = recorder();
    drawGrid(ctx, grid, { palette, cellSize: 10, lineColor: '#123456' });
    grid.forEach((row, r) =>
      row.forEach((v, c) => {
        const [x, y] = cellCenter(r, c, { cellSize: 10 });
        expect(colorAt(rects, x, y)).toBe(palette[v]);
      }),
    );
    // A point on the line between two cells shows the line colour.
    expect(colorAt(rects, 10.5, 5)).toBe('#123456');
  });

  it('uses the chosen palette', () => {
    const { ctx, rects } = recorder();
    drawGrid(ctx, grid, { palette: PALETTES.original.colors, cellSize: 10 });
    const [x, y] = cellCenter(0, 1, { cellSize: 10 });
    expect(colorAt(rects, x, y)).toBe('#0074D9');
  });

  it('applies per-cell alpha and highlight', () => {
    const { ctx, rects } = recorder();
    drawGrid(ctx, grid, {
      palette,
      cellSize: 10,
      alpha: [1, 0.25, 1, 1, 1, 1],
      highlight: { mask: [0, 0, 0, 0, 0, 0.5], color: '#ffffff' },
    });
    const cell1 = rects.filter((r) => r.x === 11 && r.y === 1);
    expect(cell1.map((r) => [r.color, r.alpha])).toEqual([['#000000', 1], [palette[1], 0.25]]);
    const cell5 = rects.filter((r) => r.x === 21 && r.y === 11);
    expect(cell5.map((r) => [r.color, r.alpha])).toEqual([[palette[9], 1], ['#ffffff', 0.5]]);
  });

  it('draws numbers in a readable colour only when cells are large enough', () => {
    const big = recorder();
    drawGrid(big.ctx, grid, { palette, cellSize: MIN_NUMBER_CELL, numbers: true });
    expect(big.texts.map((t) => t.text)).toEqual(['0', '1', '2', '3', '4', '9']);
    expect(big.texts[0].color).toBe('#ffffff'); // on black
    expect(big.texts[4].color).toBe('#000000'); // on yellow
    const small = recorder();
    drawGrid(small.ctx, grid, { palette, cellSize: MIN_NUMBER_CELL - 1, numbers: true });
    expect(small.texts).toEqual([]);
  });
});
