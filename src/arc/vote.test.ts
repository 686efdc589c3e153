import { describe, expect, test } from 'vitest';
import { attemptsFrom, correctAtK, gridHash, sigmoid, vote } from './vote.ts';

const A = [[1, 2], [3, 4]];
const B = [[1, 2], [3, 5]];
const C = [[7]];

describe('vote', () => {
  test('groups identical grids, counts them and averages sigmoid(q_halt)', () => {
    const c = vote([
      { grid: A, qHalt: 0 },
      { grid: B, qHalt: 2 },
      { grid: [[1, 2], [3, 4]], qHalt: 1 }, // same as A, a different array
      { grid: C, qHalt: -1 },
      { grid: B, qHalt: -2 },
    ]);
    expect(c.map((x) => x.grid)).toEqual([A, B, C]);
    expect(c.map((x) => x.count)).toEqual([2, 2, 1]);
    expect(c.map((x) => x.variants)).toEqual([[0, 2], [1, 4], [3]]);
    // A: (0.5 + 0.7310585786300049) / 2; B: sigmoid(2) + sigmoid(-2) = 1, so 0.5; C: sigmoid(-1)
    expect(c[0].meanQ).toBeCloseTo(0.6155292893150025, 12);
    expect(c[1].meanQ).toBeCloseTo(0.5, 12);
    expect(c[2].meanQ).toBeCloseTo(0.2689414213699951, 12);
  });

  test('count decides before q: two low-confidence votes beat one confident vote', () => {
    const c = vote([{ grid: C, qHalt: 10 }, { grid: A, qHalt: -5 }, { grid: A, qHalt: -5 }]);
    expect(c[0].grid).toEqual(A);
    expect(c[1].grid).toEqual(C);
  });

  test('equal counts: the higher mean q wins, whatever the order of arrival', () => {
    const c = vote([{ grid: A, qHalt: -1 }, { grid: B, qHalt: 3 }]);
    expect(c.map((x) => x.grid)).toEqual([B, A]);
  });

  test('exact ties keep first-seen order (Python sorted is stable)', () => {
    const c = vote([{ grid: B, qHalt: 0.5 }, { grid: A, qHalt: 0.5 }]);
    expect(c.map((x) => x.grid)).toEqual([B, A]);
  });

  test('grids with the same cells in another shape are different candidates', () => {
    const c = vote([{ grid: [[1, 2]], qHalt: 0 }, { grid: [[1], [2]], qHalt: 0 }]);
    expect(c.length).toBe(2);
    expect(gridHash([[1, 2]])).not.toBe(gridHash([[1], [2]]));
    expect(gridHash([[1, 11]])).not.toBe(gridHash([[11, 1]]));
  });

  test('a 0×0 crop is a candidate like any other, as upstream hashes it', () => {
    const c = vote([{ grid: [], qHalt: 0 }, { grid: [], qHalt: 0 }, { grid: A, qHalt: 0 }]);
    expect(c[0]).toMatchObject({ grid: [], count: 2 });
  });

  test('no predictions, no candidates', () => {
    expect(vote([])).toEqual([]);
  });
});

describe('attempts and pass@K', () => {
  test('attempt_1/attempt_2 are the top two; a single candidate is repeated', () => {
    const two = vote([{ grid: A, qHalt: 0 }, { grid: A, qHalt: 0 }, { grid: B, qHalt: 0 }, { grid: C, qHalt: 9 }]);
    expect(attemptsFrom(two)).toEqual({ attempt_1: A, attempt_2: C });
    expect(attemptsFrom(vote([{ grid: B, qHalt: 0 }]))).toEqual({ attempt_1: B, attempt_2: B });
    expect(attemptsFrom([])).toBeUndefined();
  });

  test('correct at K when the solution is among the top K', () => {
    const c = vote([{ grid: A, qHalt: 0 }, { grid: A, qHalt: 0 }, { grid: B, qHalt: 0 }, { grid: C, qHalt: 0 }]);
    expect(correctAtK(c, A, 1)).toBe(true);
    expect(correctAtK(c, B, 1)).toBe(false);
    expect(correctAtK(c, B, 2)).toBe(true);
    expect(correctAtK(c, C, 2)).toBe(false);
    expect(correctAtK(c, C, 5)).toBe(true);
    expect(correctAtK(c, [[9]], 1000)).toBe(false);
  });

  test('sigmoid is the logistic function', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(Math.log(3))).toBeCloseTo(0.75, 15);
  });
});
