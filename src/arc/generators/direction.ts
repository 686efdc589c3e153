/** The four grid directions shared by the directional families. */
export type Direction = 'up' | 'down' | 'left' | 'right';

export const DIRECTIONS: readonly Direction[] = ['up', 'down', 'left', 'right'];

/** [row delta, column delta] of one step. */
export const STEP: Record<Direction, readonly [number, number]> = {
  up: [-1, 0],
  down: [1, 0],
  left: [0, -1],
  right: [0, 1],
};

/**
 * The grid's rows or columns as cell coordinates listed in the order of travel
 * (for 'down': every column, top to bottom).
 */
export function linesAlong(h: number, w: number, dir: Direction): [number, number][][] {
  const vertical = dir === 'up' || dir === 'down';
  const reversed = dir === 'up' || dir === 'left';
  const count = vertical ? w : h;
  const length = vertical ? h : w;
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length }, (_, k) => {
      const j = reversed ? length - 1 - k : k;
      return (vertical ? [j, i] : [i, j]) as [number, number];
    }),
  );
}
