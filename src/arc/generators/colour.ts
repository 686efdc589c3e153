/** Families about colours and counts: recolouring, framing, counting into a bar. */
import type { Family } from './family.ts';
import { cloneGrid, filledGrid } from '../grid.ts';
import { COLOURS, cols, rows, scatter } from './draw.ts';

export const recolor: Family<{ from: number; to: number }> = {
  name: 'recolor',
  description: 'Paint every cell of one colour in another colour.',
  allParams: COLOURS.flatMap((from) => COLOURS.filter((to) => to !== from).map((to) => ({ from, to }))),
  sampleParams: (rng) => {
    const [from, to] = rng.sample(COLOURS, 2);
    return { from, to };
  },
  sampleInput: (rng, p, maxSide) => {
    const others = rng.sample(
      COLOURS.filter((c) => c !== p.from && c !== p.to),
      rng.int(1, 2),
    );
    return scatter(rng, rng.int(3, maxSide), rng.int(3, maxSide), 0.35 + 0.25 * rng.next(), [p.from, p.from, ...others]);
  },
  apply: (g, p) => g.map((row) => row.map((v) => (v === p.from ? p.to : v))),
};

export const border: Family<{ colour: number }> = {
  name: 'border',
  description: 'Draw a one-cell frame of a fixed colour around the grid.',
  allParams: COLOURS.map((colour) => ({ colour })),
  sampleParams: (rng) => ({ colour: rng.pick(COLOURS) }),
  sampleInput: (rng, p, maxSide) =>
    scatter(
      rng,
      rng.int(3, maxSide),
      rng.int(3, maxSide),
      0.2 + 0.2 * rng.next(),
      rng.sample(
        COLOURS.filter((c) => c !== p.colour),
        rng.int(1, 3),
      ),
    ),
  apply: (g, p) => {
    const out = cloneGrid(g);
    out.forEach((row, r) =>
      row.forEach((_, c) => {
        if (r === 0 || c === 0 || r === rows(g) - 1 || c === cols(g) - 1) out[r][c] = p.colour;
      }),
    );
    return out;
  },
};

export const countBar: Family<null> = {
  name: 'count-bar',
  description: 'Count the coloured cells and answer with a 1-row bar that long, in their colour.',
  sampleParams: () => null,
  sampleInput: (rng, _p, maxSide) => {
    const h = rng.int(3, maxSide);
    const w = rng.int(3, maxSide);
    const count = rng.int(1, Math.min(maxSide, Math.floor((h * w) / 2)));
    const colour = rng.pick(COLOURS);
    const g = filledGrid(h, w);
    const cells = rng.sample(
      Array.from({ length: h * w }, (_, i) => i),
      count,
    );
    for (const i of cells) g[Math.floor(i / w)][i % w] = colour;
    return g;
  },
  apply: (g) => {
    const cells = g.flat().filter((v) => v !== 0);
    return [cells.map(() => cells[0])];
  },
};
