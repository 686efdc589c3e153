import { describe, expect, it } from 'vitest';
import {
  HISTORY_LIMIT,
  applyEdit,
  createEditor,
  fillSelection,
  floodFill,
  normalizeSelection,
  paintCell,
  parseSize,
  redo,
  resizeGrid,
  undo,
} from './editor.ts';
import { gridsEqual } from './grid.ts';

describe('editing operations', () => {
  it('paints one cell without mutating the input, and is a no-op for the same colour', () => {
    const g = [[0, 0], [0, 0]];
    const next = paintCell(g, 1, 0, 3);
    expect(next).toEqual([[0, 0], [3, 0]]);
    expect(g).toEqual([[0, 0], [0, 0]]);
    expect(paintCell(next, 1, 0, 3)).toBe(next);
    expect(paintCell(next, 5, 0, 3)).toBe(next);
  });

  it('flood fills 4-connected cells of the start colour only', () => {
    const g = [
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 1],
    ];
    expect(floodFill(g, 0, 0, 2)).toEqual([
      [2, 2, 0],
      [0, 2, 0],
      [1, 0, 1], // diagonal neighbours stay
    ]);
    expect(floodFill(g, 0, 2, 5)).toEqual([
      [1, 1, 5],
      [0, 1, 5],
      [1, 0, 1],
    ]);
    expect(floodFill(g, 0, 0, 1)).toBe(g);
  });

  it('fills a normalized selection rectangle', () => {
    const sel = normalizeSelection([2, 2], [1, 0]);
    expect(sel).toEqual({ r0: 1, c0: 0, r1: 2, c1: 2 });
    expect(fillSelection([[0, 0, 0], [0, 0, 0], [0, 0, 0]], sel, 4)).toEqual([[0, 0, 0], [4, 4, 4], [4, 4, 4]]);
  });

  it('resizes keeping the top-left content and padding with 0', () => {
    const g = [[1, 2], [3, 4]];
    expect(resizeGrid(g, 3, 1)).toEqual([[1], [3], [0]]);
    expect(resizeGrid(g, 1, 3)).toEqual([[1, 2, 0]]);
    expect(resizeGrid(g, 2, 2)).toBe(g);
    expect(() => resizeGrid(g, 0, 2)).toThrow(RangeError);
    expect(() => resizeGrid(g, 31, 2)).toThrow('1-30');
  });

  it('parses typed sizes', () => {
    expect(parseSize('3x4')).toEqual([3, 4]);
    expect(parseSize(' 30 × 1 ')).toEqual([30, 1]);
    expect(parseSize('31x2')).toBeNull();
    expect(parseSize('0x2')).toBeNull();
    expect(parseSize('abc')).toBeNull();
  });
});

describe('undo/redo history', () => {
  it('undoes and redoes edits in order, and a new edit clears redo', () => {
    let s = createEditor([[0]]);
    s = applyEdit(s, [[1]]);
    s = applyEdit(s, [[2]]);
    s = undo(s);
    expect(s.grid).toEqual([[1]]);
    s = undo(s);
    expect(s.grid).toEqual([[0]]);
    expect(undo(s)).toBe(s);
    s = redo(s);
    expect(s.grid).toEqual([[1]]);
    s = applyEdit(s, [[3]]);
    expect(s.future).toEqual([]);
    expect(redo(s)).toBe(s);
  });

  it('merges a drag stroke into one history entry', () => {
    let s = createEditor([[0, 0, 0]]);
    s = applyEdit(s, paintCell(s.grid, 0, 0, 1));
    s = applyEdit(s, paintCell(s.grid, 0, 1, 1), true);
    s = applyEdit(s, paintCell(s.grid, 0, 2, 1), true);
    expect(s.grid).toEqual([[1, 1, 1]]);
    expect(undo(s).grid).toEqual([[0, 0, 0]]);
  });

  it('ignores no-op edits and bounds the history', () => {
    let s = createEditor([[0]]);
    expect(applyEdit(s, s.grid)).toBe(s);
    for (let i = 1; i <= HISTORY_LIMIT + 10; i++) s = applyEdit(s, [[i % 10]]);
    expect(s.past).toHaveLength(HISTORY_LIMIT);
  });
});

describe('gridsEqual', () => {
  it('compares dimensions and cells', () => {
    expect(gridsEqual([[1, 2]], [[1, 2]])).toBe(true);
    expect(gridsEqual([[1, 2]], [[1], [2]])).toBe(false);
    expect(gridsEqual([[1, 2]], [[1, 3]])).toBe(false);
    expect(gridsEqual([[1, 2]], [[1, 2, 0]])).toBe(false);
  });
});
