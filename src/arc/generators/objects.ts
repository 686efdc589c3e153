/** Families that reason about shapes: gravity, enclosure, rays, noise, symmetry, connecting pairs. */
import type { Grid } from '../types.ts';
import type { Family } from './family.ts';
import { cloneGrid, filledGrid } from '../grid.ts';
import { COLOURS, cols, fillRect, placeRects, rows, scatter, transpose } from './draw.ts';
import { DIRECTIONS, type Direction, linesAlong } from './direction.ts';

export const gravity: Family<{ dir: Direction }> = {
  name: 'gravity',
  description: 'Let every coloured cell fall in one direction until it rests on the edge or another cell.',
  allParams: DIRECTIONS.map((dir) => ({ dir })),
  sampleParams: (rng) => ({ dir: rng.pick(DIRECTIONS) }),
  sampleInput: (rng, _p, maxSide) =>
    scatter(rng, rng.int(3, maxSide), rng.int(3, maxSide), 0.15 + 0.25 * rng.next(), rng.sample(COLOURS, rng.int(1, 3))),
  apply: (g, p) => {
    const out = filledGrid(rows(g), cols(g));
    for (const line of linesAlong(rows(g), cols(g), p.dir)) {
      const fallen = line.map(([r, c]) => g[r][c]).filter((v) => v !== 0);
      // Cells keep their order and pile up at the far end of the line.
      fallen.forEach((v, i) => {
        const [r, c] = line[line.length - fallen.length + i];
        out[r][c] = v;
      });
    }
    return out;
  },
};

/** 0-cells not 4-connected to the grid's edge through other 0-cells. */
function enclosedCells(g: Grid): boolean[][] {
  const h = rows(g);
  const w = cols(g);
  const outside = g.map((row) => row.map(() => false));
  const stack: [number, number][] = [];
  const visit = (r: number, c: number) => {
    if (r < 0 || c < 0 || r >= h || c >= w || outside[r][c] || g[r][c] !== 0) return;
    outside[r][c] = true;
    stack.push([r, c]);
  };
  for (let r = 0; r < h; r++) [0, w - 1].forEach((c) => visit(r, c));
  for (let c = 0; c < w; c++) [0, h - 1].forEach((r) => visit(r, c));
  while (stack.length) {
    const [r, c] = stack.pop()!;
    visit(r + 1, c);
    visit(r - 1, c);
    visit(r, c + 1);
    visit(r, c - 1);
  }
  return g.map((row, r) => row.map((v, c) => v === 0 && !outside[r][c]));
}

export const fillEnclosed: Family<{ fill: number }> = {
  name: 'fill-enclosed',
  description: 'Fill the inside of every closed outline with one colour; outlines with a gap stay empty.',
  allParams: COLOURS.map((fill) => ({ fill })),
  sampleParams: (rng) => ({ fill: rng.pick(COLOURS) }),
  sampleInput: (rng, p, maxSide) => {
    const g = filledGrid(rng.int(5, maxSide), rng.int(5, maxSide));
    const wall = rng.pick(COLOURS.filter((c) => c !== p.fill));
    placeRects(rng, g, rng.int(1, 3), 3, 6, 1, (r0, c0, h, w, index) => {
      fillRect(g, r0, c0, h, w, wall);
      fillRect(g, r0 + 1, c0 + 1, h - 2, w - 2, 0);
      // A later outline may get a gap in its top edge, so it encloses nothing.
      if (index > 0 && w > 2 && rng.chance(0.5)) g[r0][rng.int(c0 + 1, c0 + w - 2)] = 0;
    });
    return g;
  },
  apply: (g, p) => {
    const inside = enclosedCells(g);
    return g.map((row, r) => row.map((v, c) => (inside[r][c] ? p.fill : v)));
  },
};

export const extendLines: Family<{ dir: Direction }> = {
  name: 'extend-lines',
  description: 'Every coloured cell shoots a ray of its colour in one direction, up to the next coloured cell or the edge.',
  allParams: DIRECTIONS.map((dir) => ({ dir })),
  sampleParams: (rng) => ({ dir: rng.pick(DIRECTIONS) }),
  sampleInput: (rng, p, maxSide) => {
    const h = rng.int(3, maxSide);
    const w = rng.int(3, maxSide);
    const g = filledGrid(h, w);
    const lines = linesAlong(h, w, p.dir);
    // One seed per chosen line, so rays never run into each other.
    for (const line of rng.sample(lines, rng.int(1, Math.min(4, lines.length)))) {
      const [r, c] = line[rng.int(0, line.length - 2)];
      g[r][c] = rng.pick(COLOURS);
    }
    return g;
  },
  apply: (g, p) => {
    const out = cloneGrid(g);
    for (const line of linesAlong(rows(g), cols(g), p.dir)) {
      let carry = 0;
      for (const [r, c] of line) {
        if (g[r][c] !== 0) carry = g[r][c];
        else out[r][c] = carry;
      }
    }
    return out;
  },
};

const NEIGHBOURS4 = [
  [1, 0],
  [-1, 0],
  [0, 1],
  [0, -1],
] as const;

export const denoise: Family<null> = {
  name: 'denoise',
  description: 'Remove the lone pixels (no same-coloured neighbour) and keep the solid shapes.',
  sampleParams: () => null,
  sampleInput: (rng, _p, maxSide) => {
    const g = filledGrid(rng.int(5, maxSide), rng.int(5, maxSide));
    placeRects(rng, g, rng.int(1, 3), 2, 4, 1, (r0, c0, h, w) => fillRect(g, r0, c0, h, w, rng.pick(COLOURS)));
    // Noise goes on background cells whose 8 neighbours are empty, so it is always a lone pixel.
    placeRects(rng, g, rng.int(1, 5), 1, 1, 1, (r0, c0) => {
      g[r0][c0] = rng.pick(COLOURS);
    });
    return g;
  },
  apply: (g) =>
    g.map((row, r) =>
      row.map((v, c) => (NEIGHBOURS4.some(([dr, dc]) => g[r + dr]?.[c + dc] === v) ? v : 0)),
    ),
};

export const symmetry: Family<{ axis: 'lr' | 'ud'; mask: number }> = {
  name: 'symmetry',
  description: 'Restore a mirror-symmetric picture where a patch was painted over with a mask colour.',
  allParams: (['lr', 'ud'] as const).flatMap((axis) => COLOURS.map((mask) => ({ axis, mask }))),
  sampleParams: (rng) => ({ axis: rng.pick(['lr', 'ud'] as const), mask: rng.pick(COLOURS) }),
  sampleInput: (rng, p, maxSide) => {
    // Built for a left-right mirror, then transposed for an up-down one.
    const h = rng.int(3, maxSide);
    const w = rng.int(4, maxSide);
    const palette = rng.sample(
      COLOURS.filter((c) => c !== p.mask),
      rng.int(2, 3),
    );
    const half = scatter(rng, h, Math.ceil(w / 2), 0.5 + 0.3 * rng.next(), palette);
    const g = half.map((row) => Array.from({ length: w }, (_, c) => row[Math.min(c, w - 1 - c)]));
    const ph = rng.int(1, Math.min(3, h));
    const pw = rng.int(1, Math.min(3, Math.floor(w / 2)));
    const leftSide = rng.chance(0.5);
    const c0 = leftSide ? rng.int(0, Math.floor(w / 2) - pw) : rng.int(Math.ceil(w / 2), w - pw);
    fillRect(g, rng.int(0, h - ph), c0, ph, pw, p.mask);
    return p.axis === 'lr' ? g : transpose(g);
  },
  apply: (g, p) =>
    g.map((row, r) =>
      row.map((v, c) => {
        if (v !== p.mask) return v;
        const mirror = p.axis === 'lr' ? g[r][cols(g) - 1 - c] : g[rows(g) - 1 - r][c];
        return mirror === p.mask ? v : mirror;
      }),
    ),
};

export const connect: Family<{ axis: 'row' | 'col' }> = {
  name: 'connect',
  description: 'Join each pair of same-coloured cells facing each other along a row (or column) with a line.',
  allParams: [{ axis: 'row' }, { axis: 'col' }],
  sampleParams: (rng) => ({ axis: rng.pick(['row', 'col'] as const) }),
  sampleInput: (rng, p, maxSide) => {
    const h = rng.int(3, maxSide);
    const w = rng.int(4, maxSide);
    const g = filledGrid(h, w);
    // Built for rows, then transposed for columns; each pair gets its own row.
    for (const r of rng.sample(
      Array.from({ length: h }, (_, i) => i),
      rng.int(1, Math.min(3, h)),
    )) {
      const a = rng.int(0, w - 3);
      const b = rng.int(a + 2, w - 1);
      const colour = rng.pick(COLOURS);
      g[r][a] = colour;
      g[r][b] = colour;
    }
    return p.axis === 'row' ? g : transpose(g);
  },
  apply: (g, p) => {
    const out = cloneGrid(g);
    for (const line of linesAlong(rows(g), cols(g), p.axis === 'row' ? 'right' : 'down')) {
      let last = -1;
      line.forEach(([r, c], i) => {
        if (g[r][c] === 0) return;
        if (last >= 0 && g[line[last][0]][line[last][1]] === g[r][c])
          for (let k = last + 1; k < i; k++) out[line[k][0]][line[k][1]] = g[r][c];
        last = i;
      });
    }
    return out;
  },
};
