/** Families that move cells around without looking at what they are: flips, rotations, scaling, tiling, shifts. */
import type { Grid } from '../types.ts';
import type { Family } from './family.ts';
import { filledGrid } from '../grid.ts';
import { COLOURS, cols, flipLeftRight, flipUpDown, rotateClockwise, rows, scatter } from './draw.ts';
import type { Rng } from './rng.ts';
import { DIRECTIONS, type Direction, STEP } from './direction.ts';

/** A random multi-coloured pattern, dense enough that geometry changes are visible. */
function pattern(rng: Rng, h: number, w: number): Grid {
  return scatter(rng, h, w, 0.3 + 0.3 * rng.next(), rng.sample(COLOURS, rng.int(2, 4)));
}

type Axis = 'lr' | 'ud';

export const flip: Family<{ axis: Axis }> = {
  name: 'flip',
  description: 'Mirror the grid left-right or upside-down.',
  allParams: [{ axis: 'lr' }, { axis: 'ud' }],
  sampleParams: (rng) => ({ axis: rng.pick(['lr', 'ud'] as const) }),
  sampleInput: (rng, _p, maxSide) => pattern(rng, rng.int(3, maxSide), rng.int(3, maxSide)),
  apply: (g, p) => (p.axis === 'lr' ? flipLeftRight(g) : flipUpDown(g)),
};

export const rotate: Family<{ quarters: number }> = {
  name: 'rotate',
  description: 'Rotate the grid clockwise by 90°, 180° or 270°.',
  allParams: [{ quarters: 1 }, { quarters: 2 }, { quarters: 3 }],
  sampleParams: (rng) => ({ quarters: rng.int(1, 3) }),
  sampleInput: (rng, _p, maxSide) => pattern(rng, rng.int(3, maxSide), rng.int(3, maxSide)),
  apply: (g, p) => rotateClockwise(g, p.quarters),
};

export const scale: Family<{ factor: number }> = {
  name: 'scale',
  description: 'Blow every cell up into a factor×factor block.',
  allParams: [{ factor: 2 }, { factor: 3 }],
  sampleParams: (rng) => ({ factor: rng.int(2, 3) }),
  sampleInput: (rng, p, maxSide) => {
    const side = Math.max(2, Math.floor(maxSide / p.factor));
    return pattern(rng, rng.int(2, side), rng.int(2, side));
  },
  apply: (g, p) =>
    Array.from({ length: rows(g) * p.factor }, (_, r) =>
      Array.from({ length: cols(g) * p.factor }, (_, c) => g[Math.floor(r / p.factor)][Math.floor(c / p.factor)]),
    ),
};

type TileMode = 'repeat' | 'mirror';

export const tile: Family<{ mode: TileMode }> = {
  name: 'tile',
  description: 'Tile the grid 2×2, either repeated or mirrored into a kaleidoscope.',
  allParams: [{ mode: 'repeat' }, { mode: 'mirror' }],
  sampleParams: (rng) => ({ mode: rng.pick(['repeat', 'mirror'] as const) }),
  sampleInput: (rng, _p, maxSide) => {
    const side = Math.max(2, Math.floor(maxSide / 2));
    return pattern(rng, rng.int(2, side), rng.int(2, side));
  },
  apply: (g, p) => {
    const right = p.mode === 'repeat' ? g : flipLeftRight(g);
    const top = g.map((row, r) => [...row, ...right[r]]);
    const bottom = p.mode === 'repeat' ? top : flipUpDown(top);
    return [...top, ...bottom].map((row) => row.slice());
  },
};

export const translate: Family<{ dir: Direction; dist: number }> = {
  name: 'translate',
  description: 'Shift everything one or two cells in one direction.',
  allParams: DIRECTIONS.flatMap((dir) => [1, 2].map((dist) => ({ dir, dist }))),
  sampleParams: (rng) => ({ dir: rng.pick(DIRECTIONS), dist: rng.int(1, 2) }),
  sampleInput: (rng, p, maxSide) => {
    const h = rng.int(4, maxSide);
    const w = rng.int(4, maxSide);
    const [dr, dc] = STEP[p.dir];
    // Content stays clear of the edge it moves towards, so nothing falls off the grid.
    const g = pattern(rng, h, w);
    return g.map((row, r) =>
      row.map((v, c) => {
        const rr = r + dr * p.dist;
        const cc = c + dc * p.dist;
        return rr >= 0 && rr < h && cc >= 0 && cc < w ? v : 0;
      }),
    );
  },
  apply: (g, p) => {
    const [dr, dc] = STEP[p.dir];
    const out = filledGrid(rows(g), cols(g));
    g.forEach((row, r) =>
      row.forEach((v, c) => {
        const rr = r + dr * p.dist;
        const cc = c + dc * p.dist;
        if (rr >= 0 && rr < rows(g) && cc >= 0 && cc < cols(g)) out[rr][cc] = v;
      }),
    );
    return out;
  },
};
