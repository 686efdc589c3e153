import { expect, test } from 'vitest';
import type { FrameBatch } from '../../engine/protocol.ts';
import { accuracy, changedMask, flatten, frameLabel, qSeries, shownFrameIndex } from './frameView.ts';

const frame = (act: number, h: number, qHalt: number[], haltHere: boolean[]): FrameBatch => ({
  act, h, batch: qHalt.length, tokens: new Uint8Array(0), confidence: new Float32Array(0),
  qHalt: Float32Array.from(qHalt), qContinue: new Float32Array(qHalt.length), grids: [], gridConfidence: [],
  haltHere, elapsedMs: 0,
});

test('shown frame follows the newest unless one is pinned, clamped to what exists', () => {
  const live = { frames: [frame(0, 0, [0], [false]), frame(0, 1, [0], [false])] } as never;
  expect(shownFrameIndex({ live: null, frame: null })).toBe(-1);
  expect(shownFrameIndex({ live, frame: null })).toBe(1);
  expect(shownFrameIndex({ live, frame: 0 })).toBe(0);
  expect(shownFrameIndex({ live, frame: 7 })).toBe(1);
});

test('frame label counts from 1', () => {
  expect(frameLabel({ act: 0, h: 2 }, 16, 3)).toBe('Step 1/16 · H-cycle 3/3');
});

test('changed cells: per-cell difference, everything on a shape change, nothing without a previous frame', () => {
  expect(Array.from(changedMask([[1, 2], [3, 4]], [[1, 0], [3, 5]]))).toEqual([0, 1, 0, 1]);
  expect(Array.from(changedMask([[1, 2]], [[1], [2]]))).toEqual([1, 1]);
  expect(Array.from(changedMask(undefined, [[1, 2]]))).toEqual([0, 0]);
});

test('accuracy counts matching cells only when shapes agree', () => {
  expect(accuracy([[1, 2], [3, 4]], [[1, 2], [3, 0]])).toEqual({ exact: false, sameShape: true, matching: 3, total: 4 });
  expect(accuracy([[1, 2]], [[1, 2]])).toEqual({ exact: true, sameShape: true, matching: 2, total: 2 });
  expect(accuracy([], [[1, 2]])).toEqual({ exact: false, sameShape: false, matching: 0, total: 2 });
});

test('q series takes the end of each ACT step for one variant, as sigmoid', () => {
  const frames = [
    frame(0, 0, [5, 5], [false, false]), frame(0, 1, [0, -1], [false, false]),
    frame(1, 0, [5, 5], [false, false]), frame(1, 1, [Math.log(3), 2], [true, true]),
  ];
  expect(qSeries(frames, 0, 2)).toEqual([
    { act: 0, q: 0.5, haltHere: false },
    { act: 1, q: expect.closeTo(0.75, 6), haltHere: true },
  ]);
  expect(qSeries(frames, 1, 2).map((p) => p.act)).toEqual([0, 1]);
});

test('flatten lays rows out row-major', () => {
  expect(Array.from(flatten([[0.5, 1], [0.25, 0]]))).toEqual([0.5, 1, 0.25, 0]);
});
