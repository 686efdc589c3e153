import { describe, expect, test } from 'vitest';
import {
  augmentationsForTask, augmentGrid, DIHEDRAL_INVERSE, dihedral, formatVariantName, IDENTITY,
  inverseAugmentGrid, invertPerm, mapColours, parseVariantName,
} from './augment.ts';
import type { Grid, Task } from './types.ts';

describe('dihedral transforms (reference §3.1 table)', () => {
  test('rot90 of [[1,2],[3,4]] is [[2,4],[1,3]] (counter-clockwise)', () => {
    expect(dihedral([[1, 2], [3, 4]], 1)).toEqual([[2, 4], [1, 3]]);
  });

  test('all 8 transforms of a 2×3 array, worked out from out[i][j]', () => {
    const a = [[1, 2, 3], [4, 5, 6]];
    const expected: Grid[] = [
      [[1, 2, 3], [4, 5, 6]],
      [[3, 6], [2, 5], [1, 4]],
      [[6, 5, 4], [3, 2, 1]],
      [[4, 1], [5, 2], [6, 3]],
      [[3, 2, 1], [6, 5, 4]],
      [[4, 5, 6], [1, 2, 3]],
      [[1, 4], [2, 5], [3, 6]],
      [[6, 3], [5, 2], [4, 1]],
    ];
    expected.forEach((e, tid) => expect(dihedral(a, tid), `tid ${tid}`).toEqual(e));
  });

  test('DIHEDRAL_INVERSE undoes every transform', () => {
    const a = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 0, 1, 2]];
    for (let t = 0; t < 8; t++) expect(dihedral(dihedral(a, t), DIHEDRAL_INVERSE[t])).toEqual(a);
  });

  test('rejects an unknown transform id', () => {
    expect(() => dihedral([[1]], 8)).toThrow(/8 is not one of 0..7/);
  });
});

describe('colour mapping and forward/inverse order', () => {
  const perm = [0, 7, 6, 8, 3, 1, 4, 9, 5, 2]; // "0768314952" from the reference

  test('mapColours sends colour c to perm[c]; invertPerm undoes it', () => {
    expect(mapColours([[0, 1, 9]], perm)).toEqual([[0, 7, 2]]);
    expect(invertPerm(perm)).toEqual([0, 5, 9, 4, 6, 8, 2, 1, 3, 7]);
  });

  test('forward = colours then geometry (hand-worked rot90 example)', () => {
    // mapped: [[0,7,6],[8,3,2]]; rot90 out[i][j] = A[j][W-1-i]
    expect(augmentGrid([[0, 1, 2], [3, 4, 9]], { tid: 1, perm })).toEqual([[6, 2], [7, 3], [0, 8]]);
  });

  test('inverse ∘ forward = identity for all 8 transforms × random permutations', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let k = 0; k < 40; k++) {
      const rest = [1, 2, 3, 4, 5, 6, 7, 8, 9];
      for (let i = 8; i > 0; i--) { const j = rnd(i + 1); [rest[i], rest[j]] = [rest[j], rest[i]]; }
      const p = [0, ...rest];
      const rows = 1 + rnd(6), cols = 1 + rnd(6);
      const g = Array.from({ length: rows }, () => Array.from({ length: cols }, () => rnd(10)));
      for (let tid = 0; tid < 8; tid++) expect(inverseAugmentGrid(augmentGrid(g, { tid, perm: p }), { tid, perm: p })).toEqual(g);
    }
  });

  test('inverse of the hand-worked rot90 example gives the original back', () => {
    expect(inverseAugmentGrid([[6, 2], [7, 3], [0, 8]], { tid: 1, perm })).toEqual([[0, 1, 2], [3, 4, 9]]);
  });
});

describe('variant names', () => {
  test('parse the reference example and format it back', () => {
    const v = parseVariantName('8b28cd80|||t3|||0768314952');
    expect(v).toEqual({ taskId: '8b28cd80', aug: { tid: 3, perm: [0, 7, 6, 8, 3, 1, 4, 9, 5, 2] } });
    expect(formatVariantName(v.taskId, v.aug)).toBe('8b28cd80|||t3|||0768314952');
  });

  test('a bare id is the original task', () => {
    expect(parseVariantName('8b28cd80')).toEqual({ taskId: '8b28cd80', aug: IDENTITY });
  });

  test('malformed names are rejected with the name in the message', () => {
    expect(() => parseVariantName('abc|||t8|||0123456789')).toThrow(/"abc\|\|\|t8\|\|\|0123456789"/);
    expect(() => parseVariantName('abc|||t1|||012345678')).toThrow(/not "<task>/);
    expect(() => parseVariantName('abc|||t1|||0123456788')).toThrow(/not a permutation/);
    expect(() => parseVariantName('abc|||t1')).toThrow(/not "<task>/);
  });
});

describe('augmentationsForTask', () => {
  const task: Task = {
    id: 'asym',
    train: [{ input: [[1, 2], [3, 0]], output: [[2, 1], [0, 3]] }],
    test: [{ input: [[4, 5], [6, 0]] }],
  };

  test('identity first, K distinct augmentations, 0 fixed, reproducible per seed', () => {
    const a = augmentationsForTask(task, 16, 1);
    expect(a.length).toBe(16);
    expect(a[0]).toEqual(IDENTITY);
    const names = new Set(a.map((x) => formatVariantName(task.id, x)));
    expect(names.size).toBe(16);
    expect(a.every((x) => x.perm[0] === 0)).toBe(true);
    expect(augmentationsForTask(task, 16, 1)).toEqual(a);
    expect(augmentationsForTask(task, 16, 2)).not.toEqual(a);
  });

  test('a task whose content is invariant yields fewer: all-black 1×1 grids have one variant', () => {
    const blank: Task = { id: 'blank', train: [{ input: [[0]], output: [[0]] }], test: [{ input: [[0]] }] };
    expect(augmentationsForTask(blank, 8)).toEqual([IDENTITY]);
  });

  test('colour-only symmetric task: a 1×1 colour grid only varies by colour (at most 9 variants)', () => {
    const one: Task = { id: 'one', train: [{ input: [[3]], output: [[3]] }], test: [{ input: [[3]] }] };
    const a = augmentationsForTask(one, 50);
    expect(a.length).toBeLessThanOrEqual(9);
    const colours = new Set(a.map((x) => x.perm[3]));
    expect(colours.size).toBe(a.length);
  });
});
