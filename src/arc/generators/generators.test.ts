import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../parse.ts';
import type { Grid, Pair, Task } from '../types.ts';
import { DEFAULT_GRID_SIZE, FAMILIES, type Family, Rng, demoSuite, generateTask, trainingSuite } from './index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SEEDS = Array.from({ length: 30 }, (_, i) => 1000 + i);

const h = (g: Grid) => g.length;
const w = (g: Grid) => g[0].length;
const same = (a: Grid, b: Grid) => JSON.stringify(a) === JSON.stringify(b);
const cells = (g: Grid) => g.flatMap((row, r) => row.map((v, c) => ({ r, c, v })));

function expectValidGrid(g: Grid, maxSide: number, where: string) {
  expect(Array.isArray(g), where).toBe(true);
  expect(h(g), where).toBeGreaterThanOrEqual(1);
  expect(h(g), where).toBeLessThanOrEqual(maxSide);
  expect(w(g), where).toBeGreaterThanOrEqual(1);
  expect(w(g), where).toBeLessThanOrEqual(maxSide);
  expect(g.every((row) => row.length === w(g)), `${where}: rectangular`).toBe(true);
  expect(g.flat().filter((v) => !(Number.isInteger(v) && v >= 0 && v <= 9)), `${where}: colours 0-9`).toEqual([]);
}

/** Lines in the order of travel, written independently of the generators' linesAlong. */
function travelLines(g: Grid, dir: string): number[][] {
  const columns = g[0].map((_, c) => g.map((row) => row[c]));
  if (dir === 'down') return columns;
  if (dir === 'up') return columns.map((l) => l.slice().reverse());
  if (dir === 'right') return g.map((l) => l.slice());
  return g.map((l) => l.slice().reverse());
}

function zeroConnectedToEdge(g: Grid): Set<string> {
  const seen = new Set<string>();
  const todo = cells(g).filter(({ r, c, v }) => v === 0 && (r === 0 || c === 0 || r === h(g) - 1 || c === w(g) - 1));
  while (todo.length) {
    const { r, c } = todo.pop()!;
    if (seen.has(`${r},${c}`)) continue;
    seen.add(`${r},${c}`);
    for (const [rr, cc] of [[r + 1, c], [r - 1, c], [r, c + 1], [r, c - 1]])
      if (g[rr]?.[cc] === 0 && !seen.has(`${rr},${cc}`)) todo.push({ r: rr, c: cc, v: 0 });
  }
  return seen;
}

/**
 * Each family's rule restated from its description, independently of its `apply`: the
 * expected output of a pair, plus the properties the generator promises. A wrong generator
 * fails here even if `apply` and the generator agree with each other.
 */
const mapCells = (g: Grid, f: (v: number, r: number, c: number) => number): Grid => g.map((row, r) => row.map((v, c) => f(v, r, c)));
const fromLines = (lines: number[][], like: Grid, dir: string): Grid => {
  // Inverse of travelLines for a grid shaped like `like`.
  const out = like.map((row) => row.slice());
  lines.forEach((line, i) =>
    line.forEach((v, k) => {
      const j = dir === 'up' || dir === 'left' ? line.length - 1 - k : k;
      if (dir === 'up' || dir === 'down') out[j][i] = v;
      else out[i][j] = v;
    }),
  );
  return out;
};
// Parameters differ per family, so each rule destructures its own shape.
const RULES: Record<string, (input: Grid, params: any) => Grid> = {
  recolor: (input, { from, to }) => {
    expect(input.flat()).not.toContain(to);
    return mapCells(input, (v) => (v === from ? to : v));
  },
  flip: (input, { axis }) => mapCells(input, (_, r, c) => (axis === 'lr' ? input[r][w(input) - 1 - c] : input[h(input) - 1 - r][c])),
  rotate: (input, { quarters }) => {
    const [H, W] = [h(input), w(input)];
    if (quarters === 2) return mapCells(input, (_, r, c) => input[H - 1 - r][W - 1 - c]);
    const out = Array.from({ length: W }, () => new Array<number>(H).fill(-1));
    cells(input).forEach(({ r, c, v }) => {
      if (quarters === 1) out[c][H - 1 - r] = v;
      else out[W - 1 - c][r] = v;
    });
    return out;
  },
  gravity: (input, { dir }) =>
    fromLines(
      travelLines(input, dir).map((line) => {
        const moved = line.filter((v) => v !== 0);
        return [...new Array(line.length - moved.length).fill(0), ...moved];
      }),
      input,
      dir,
    ),
  'fill-enclosed': (input, { fill }) => {
    const open = zeroConnectedToEdge(input);
    return mapCells(input, (v, r, c) => (v !== 0 || open.has(`${r},${c}`) ? v : fill));
  },
  'extend-lines': (input, { dir }) =>
    fromLines(
      travelLines(input, dir).map((line) => {
        let colour = 0;
        return line.map((v) => (colour = v !== 0 ? v : colour));
      }),
      input,
      dir,
    ),
  translate: (input, { dir, dist }) => {
    const [dr, dc] = { up: [-1, 0], down: [1, 0], left: [0, -1], right: [0, 1] }[dir as string]!;
    // Nothing may fall off the grid.
    cells(input).forEach(({ r, c, v }) => {
      if (v !== 0) expect(input[r + dr * dist]?.[c + dc * dist]).toBeDefined();
    });
    return mapCells(input, (_, r, c) => input[r - dr * dist]?.[c - dc * dist] ?? 0);
  },
  scale: (input, { factor }) =>
    Array.from({ length: h(input) * factor }, (_, r) =>
      Array.from({ length: w(input) * factor }, (_, c) => input[Math.floor(r / factor)][Math.floor(c / factor)]),
    ),
  denoise: (input) =>
    mapCells(input, (v, r, c) => ([[1, 0], [-1, 0], [0, 1], [0, -1]].every(([dr, dc]) => input[r + dr]?.[c + dc] !== v) ? 0 : v)),
  'count-bar': (input) => {
    const coloured = input.flat().filter((v) => v !== 0);
    expect(new Set(coloured).size).toBe(1);
    return [coloured];
  },
  symmetry: (input, { axis, mask }) => {
    const out = mapCells(input, (v, r, c) => (v !== mask ? v : axis === 'lr' ? input[r][w(input) - 1 - c] : input[h(input) - 1 - r][c]));
    expect(same(out, axis === 'lr' ? out.map((row) => row.slice().reverse()) : out.slice().reverse())).toBe(true);
    expect(out.flat()).not.toContain(mask);
    return out;
  },
  border: (input, { colour }) =>
    mapCells(input, (v, r, c) => (r === 0 || c === 0 || r === h(input) - 1 || c === w(input) - 1 ? colour : v)),
  tile: (input, { mode }) => {
    const [H, W] = [h(input), w(input)];
    return Array.from({ length: 2 * H }, (_, r) =>
      Array.from({ length: 2 * W }, (_, c) => {
        const ir = mode === 'mirror' && r >= H ? 2 * H - 1 - r : r % H;
        const ic = mode === 'mirror' && c >= W ? 2 * W - 1 - c : c % W;
        return input[ir][ic];
      }),
    );
  },
  connect: (input, { axis }) => {
    const dir = axis === 'row' ? 'right' : 'down';
    return fromLines(
      travelLines(input, dir).map((line) => {
        const marks = line.flatMap((v, k) => (v !== 0 ? [k] : []));
        const out = line.slice();
        for (let j = 1; j < marks.length; j++)
          if (line[marks[j]] === line[marks[j - 1]]) out.fill(line[marks[j]], marks[j - 1], marks[j]);
        return out;
      }),
      input,
      dir,
    );
  },
};

function generate(family: Family, seed: number) {
  return generateTask(family, new Rng(seed), { id: `t-${family.name}-${seed}`, maxSide: DEFAULT_GRID_SIZE });
}

describe('task families', () => {
  it('has at least 12 distinct families, each with a rule check', () => {
    expect(new Set(FAMILIES.map((f) => f.name)).size).toBe(FAMILIES.length);
    expect(FAMILIES.length).toBeGreaterThanOrEqual(12);
    expect(Object.keys(RULES).sort()).toEqual(FAMILIES.map((f) => f.name).sort());
  });

  describe.each(FAMILIES.map((f) => [f.name, f] as const))('%s', (_name, family) => {
    it('makes valid ARC tasks: 3-5 demonstrations, 1-2 solved tests, all grids on the canvas', () => {
      for (const seed of SEEDS) {
        const { task } = generate(family, seed);
        expect(task.train.length).toBeGreaterThanOrEqual(3);
        expect(task.train.length).toBeLessThanOrEqual(5);
        expect(task.test.length).toBeGreaterThanOrEqual(1);
        expect(task.test.length).toBeLessThanOrEqual(2);
        [...task.train, ...task.test].forEach((p, i) => {
          expectValidGrid(p.input, DEFAULT_GRID_SIZE, `${task.id} pair ${i} input`);
          expect(p.output, `${task.id} pair ${i} has an output`).toBeDefined();
          expectValidGrid(p.output!, DEFAULT_GRID_SIZE, `${task.id} pair ${i} output`);
          expect(same(p.input, p.output!), `${task.id} pair ${i} changes something`).toBe(false);
        });
      }
    });

    it('is deterministic per seed and varies across seeds', () => {
      expect(generate(family, 7)).toEqual(generate(family, 7));
      const distinct = new Set(SEEDS.map((s) => JSON.stringify(generate(family, s).task.train)));
      expect(distinct.size).toBe(SEEDS.length);
    });

    it('shows one rule on every pair, held-out tests included, on inputs never demonstrated', () => {
      for (const seed of SEEDS) {
        const { task, params } = generate(family, seed);
        const pairs = [...task.train, ...task.test] as Pair[];
        pairs.forEach((p) => {
          expect(p.output).toEqual(RULES[family.name](p.input, params));
          expect(family.apply(p.input, params)).toEqual(p.output);
        });
        const inputs = new Set(pairs.map((p) => JSON.stringify(p.input)));
        expect(inputs.size, `${task.id}: every input is distinct`).toBe(pairs.length);
      }
    });

    it('with sameSize, keeps one input size across demonstrations and tests, still one rule', () => {
      for (const seed of SEEDS) {
        const { task, params } = generateTask(family, new Rng(seed), { id: 's', maxSide: DEFAULT_GRID_SIZE, sameSize: true });
        const pairs = [...task.train, ...task.test] as Pair[];
        const sizes = new Set(pairs.map((p) => `${p.input.length}x${p.input[0].length}`));
        expect([...sizes], `${family.name} seed ${seed}`).toHaveLength(1);
        pairs.forEach((p) => expect(p.output).toEqual(RULES[family.name](p.input, params)));
      }
    });

    it('leaves no other parameter value that fits the demonstrations but answers differently', () => {
      for (const seed of SEEDS) {
        const { task, params } = generate(family, seed);
        for (const alt of family.allParams ?? []) {
          if (!task.train.every((p) => same(family.apply(p.input, alt), p.output))) continue;
          for (const t of task.test) expect(family.apply(t.input, alt)).toEqual(family.apply(t.input, params));
        }
      }
    });
  });
});

describe('demo suite', () => {
  const suite = demoSuite();

  it('has at least 24 tasks, two or more per family, with demo ids', () => {
    expect(suite.length).toBeGreaterThanOrEqual(24);
    for (const family of FAMILIES) {
      const mine = suite.filter((t) => t.family === family.name);
      expect(mine.length, family.name).toBeGreaterThanOrEqual(2);
      mine.forEach((t, i) => expect(t.task.id).toBe(`demo-${family.name}-${i + 1}`));
    }
  });

  it('is what src/arc/demo/demo-tasks.json holds (regenerate with `trm gen` if this fails)', () => {
    const file = path.resolve(here, '../demo/demo-tasks.json');
    const parsed = parseSource({ name: 'demo-tasks.json', text: readFileSync(file, 'utf8'), source: 'demo' });
    expect(parsed.errors).toEqual([]);
    expect(parsed.tasks).toEqual(suite.map((t) => t.task));
  });

  it('keeps its held-out test inputs out of the training set', () => {
    const tasks: Task[] = suite.map((t) => t.task);
    const hidden = new Set(tasks.flatMap((t) => t.test.map((p) => JSON.stringify(p.input))));
    const training = trainingSuite({ perFamily: 30, heldOut: tasks });
    expect(training.length).toBeGreaterThan(FAMILIES.length * 25);
    for (const { task } of training)
      for (const p of [...task.train, ...task.test]) expect(hidden.has(JSON.stringify(p.input))).toBe(false);
  });
});
