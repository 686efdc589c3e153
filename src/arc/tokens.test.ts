import { describe, expect, test } from 'vitest';
import { cropTokens, gridToTokens } from './tokens.ts';

/** Builds a canvas from rows of tokens written out by hand. */
const canvas = (rows: number[][]) => Int32Array.from(rows.flat());

describe('gridToTokens', () => {
  test('2×2 grid at (0,0) on a 4×4 canvas: colour+2, EOS row and column, corner PAD', () => {
    expect(Array.from(gridToTokens([[1, 2], [3, 4]], 4))).toEqual([
      3, 4, 1, 0,
      5, 6, 1, 0,
      1, 1, 0, 0,
      0, 0, 0, 0,
    ]);
  });

  test('offset places grid and EOS relative to the offset', () => {
    expect(Array.from(gridToTokens([[5, 0]], 4, { row: 1, col: 1 }))).toEqual([
      0, 0, 0, 0,
      0, 7, 2, 1,
      0, 1, 1, 0,
      0, 0, 0, 0,
    ]);
  });

  test('a full-width grid gets no EOS column, a full-height grid no EOS row', () => {
    expect(Array.from(gridToTokens([[9, 9, 9]], 3))).toEqual([11, 11, 11, 1, 1, 1, 0, 0, 0]);
    expect(Array.from(gridToTokens([[0], [1], [2]], 3))).toEqual([2, 1, 0, 3, 1, 0, 4, 1, 0]);
    const full = Array.from({ length: 30 }, (_, r) => Array.from({ length: 30 }, (_, c) => (r + c) % 10));
    const t = gridToTokens(full, 30);
    expect(t.length).toBe(900);
    expect(t.every((v) => v >= 2 && v <= 11)).toBe(true);
    expect(t[29 * 30 + 28]).toBe(((29 + 28) % 10) + 2);
  });

  test('1×1 canvas holds exactly the one colour', () => {
    expect(Array.from(gridToTokens([[7]], 1))).toEqual([9]);
  });

  test('rejects grids that do not fit, ragged rows and bad colours', () => {
    expect(() => gridToTokens([[1, 2, 3]], 2)).toThrow(/does not fit a 2×2/);
    expect(() => gridToTokens([[1]], 2, { row: 2, col: 0 })).toThrow(/does not fit/);
    expect(() => gridToTokens([[1, 2], [3]], 4)).toThrow(/row 1 has 1 cells/);
    expect(() => gridToTokens([[10]], 4)).toThrow(/row 0 col 0 is 10/);
    expect(() => gridToTokens([], 4)).toThrow(/empty/);
  });
});

describe('cropTokens (evaluators/arc.py _crop)', () => {
  test('crops the grid written by gridToTokens', () => {
    expect(cropTokens(gridToTokens([[1, 2], [3, 4]], 4), 4)).toEqual([[1, 2], [3, 4]]);
  });

  test('PAD or EOS at (0,0) gives the 0×0 grid', () => {
    expect(cropTokens(new Int32Array(16), 4)).toEqual([]);
    expect(cropTokens(canvas([[1, 3], [3, 3]]), 2)).toEqual([]);
  });

  test('width only shrinks, and the largest area wins', () => {
    // row 0 has 3 colours, row 1 only 1: (1,3)=3 beats (2,1)=2
    expect(cropTokens(canvas([
      [3, 4, 5, 1],
      [6, 1, 7, 7],
      [1, 0, 0, 0],
      [0, 0, 0, 0],
    ]), 4)).toEqual([[1, 2, 3]]);
    // row 0 has 1 colour; later wider rows cannot widen it: (3,1)
    expect(cropTokens(canvas([
      [3, 1, 0],
      [4, 5, 6],
      [7, 8, 9],
    ]), 3)).toEqual([[1], [2], [5]]);
  });

  test('equal areas keep the first (shorter, wider) rectangle', () => {
    // (1,2)=2 then (2,1)=2: strict > keeps (1,2)
    expect(cropTokens(canvas([
      [3, 4, 1],
      [5, 1, 0],
      [1, 0, 0],
    ]), 3)).toEqual([[1, 2]]);
  });

  test('a taller rectangle replaces a wider one when its area is larger', () => {
    // (1,3)=3, (2,2)=4, (3,2)=6, (4,0)=0
    expect(cropTokens(canvas([
      [2, 3, 4, 1],
      [5, 6, 1, 0],
      [7, 8, 2, 2],
      [1, 1, 0, 0],
    ]), 4)).toEqual([[0, 1], [3, 4], [5, 6]]);
  });

  test('tokens above 11 stop a row like PAD and EOS', () => {
    expect(cropTokens(canvas([[3, 12], [4, 4]]), 2)).toEqual([[1], [2]]);
  });

  test('a full 30×30 canvas of colours is returned whole; a 1×1 canvas too', () => {
    const full = Int32Array.from({ length: 900 }, (_, i) => 2 + (i % 7));
    const g = cropTokens(full, 30);
    expect(g.length).toBe(30);
    expect(g.every((row) => row.length === 30)).toBe(true);
    expect(g[29][29]).toBe(899 % 7);
    expect(cropTokens(Int32Array.of(11), 1)).toEqual([[9]]);
    expect(cropTokens(Int32Array.of(1), 1)).toEqual([]);
  });

  test('crop inverts gridToTokens at (0,0) for random shapes up to the canvas edge', () => {
    let seed = 12345;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let k = 0; k < 200; k++) {
      const rows = 1 + rnd(30), cols = 1 + rnd(30);
      const g = Array.from({ length: rows }, () => Array.from({ length: cols }, () => rnd(10)));
      expect(cropTokens(gridToTokens(g, 30), 30)).toEqual(g);
    }
  });

  test('rejects a canvas of the wrong length', () => {
    expect(() => cropTokens(new Int32Array(10), 4)).toThrow(/10 tokens, expected 4×4/);
  });
});
