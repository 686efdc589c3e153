/**
 * solveTestInput on the committed golden model (models/golden-h64, the converted upstream
 * fixture) with onnxruntime-node: a batch of augmented variants of one test input runs as one
 * batch, the variant that matches a fixture row reproduces upstream's argmax at every ACT step,
 * and every frame is cropped, de-augmented and finally voted as upstream's evaluator does
 * (checked against small independent re-implementations below, not the code under test).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Grid } from '../arc/types.ts';
import { loadModelDir, tableRows, type NodeModel } from './node-runtime.ts';
import type { FrameBatch, SolveResult, VariantInfo } from './protocol.ts';
import { releaseSessions } from './sessions.ts';
import { solveTestInput } from './solve.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MODEL = resolve(ROOT, 'models/golden-h64');
const FIXTURE = resolve(ROOT, 'src/convert/fixtures/trm-upstream-h64');

interface Expected { steps: { argmax: number[][]; q_halt: number[] }[] }
const expected = JSON.parse(readFileSync(resolve(FIXTURE, 'expected.json'), 'utf8')) as Expected;
const inputs = new Int32Array(Uint8Array.from(readFileSync(resolve(FIXTURE, 'inputs.bin'))).buffer);
const fixtureIds = [...new Int32Array(Uint8Array.from(readFileSync(resolve(FIXTURE, 'puzzle_ids.bin'))).buffer)];

// ---- independent oracles (straight from trm-reference §3.1, §6.1, §6.2) ----

/** Fixture row r's input grid: colour tokens from (0,0) up to the EOS row/column. */
function fixtureGrid(r: number): Grid {
  const t = inputs.subarray(r * 900, (r + 1) * 900);
  let rows = 0, cols = 0;
  while (rows < 30 && t[rows * 30] >= 2) rows++;
  while (cols < 30 && t[cols] >= 2) cols++;
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => t[i * 30 + j] - 2));
}

/** out[i][j] of transform tid, by the reference table. */
function transform(a: Grid, tid: number): Grid {
  const H = a.length, W = a[0]?.length ?? 0;
  const f: ((i: number, j: number) => number)[] = [
    (i, j) => a[i][j], (i, j) => a[j][W - 1 - i], (i, j) => a[H - 1 - i][W - 1 - j], (i, j) => a[H - 1 - j][i],
    (i, j) => a[i][W - 1 - j], (i, j) => a[H - 1 - i][j], (i, j) => a[j][i], (i, j) => a[H - 1 - j][W - 1 - i],
  ];
  const [h, w] = tid === 1 || tid === 3 || tid === 6 || tid === 7 ? [W, H] : [H, W];
  return Array.from({ length: h }, (_, i) => Array.from({ length: w }, (_, j) => f[tid](i, j)));
}
const INVERSE = [0, 3, 2, 1, 4, 5, 6, 7];

/** Upstream's _crop, then inverse_aug (geometry first, then colours). */
function upstreamDecode(tokens: Uint8Array, v: VariantInfo): Grid {
  let w = 30, best = [0, 0];
  for (let r = 1; r <= 30; r++) {
    for (let j = 0; j < w; j++) if (tokens[(r - 1) * 30 + j] < 2 || tokens[(r - 1) * 30 + j] > 11) { w = j; break; }
    if (r * w > best[0] * best[1]) best = [r, w];
  }
  const crop = Array.from({ length: best[0] }, (_, i) => Array.from({ length: best[1] }, (_, j) => tokens[i * 30 + j] - 2));
  const inv = new Array<number>(10);
  v.perm.forEach((to, from) => { inv[to] = from; });
  return transform(crop, INVERSE[v.tid]).map((row) => row.map((c) => inv[c]));
}

const PERM = [0, 7, 3, 9, 1, 5, 8, 2, 6, 4];
const ID = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const variant = (tid: number, perm: number[], row: number): VariantInfo =>
  ({ name: `t${tid}`, tid, perm, row, source: 'table' });

describe('solveTestInput (golden model, onnxruntime-node)', () => {
  let model: NodeModel;
  let result: SolveResult;
  const frames: FrameBatch[] = [];
  // Fixture row 1 (an 8×5 grid) ran upstream with table row fixtureIds[1]; the other variants
  // share the batch: another row, and transformed inputs.
  const testRow = 1;
  const variants = [
    variant(0, ID, fixtureIds[testRow]),
    variant(3, PERM, fixtureIds[0]),
    variant(6, ID, fixtureIds[testRow]),
  ];

  beforeAll(async () => {
    model = await loadModelDir(MODEL, 'fp32');
    result = await solveTestInput(model.ort, model.sessions, {
      config: model.manifest.config, taskId: 'fixture', testIndex: 0, input: fixtureGrid(testRow),
      variants, puzzle: await tableRows(model, variants.map((v) => v.row)),
      backend: { backend: 'wasm', precision: 'fp32', reason: 'node', forced: true },
      onFrame: (f) => { frames.push(f); },
    });
  });
  afterAll(() => model && releaseSessions(model.sessions));

  test('streams H_cycles frames per ACT step for the whole batch, all halt_max_steps steps', () => {
    const c = model.manifest.config;
    expect(result.steps).toBe(c.halt_max_steps);
    expect(frames).toHaveLength(c.halt_max_steps * c.H_cycles);
    expect(frames.map((f) => `${f.act}.${f.h}`)).toEqual(
      Array.from({ length: frames.length }, (_, i) => `${Math.floor(i / c.H_cycles)}.${i % c.H_cycles}`));
    for (const f of frames) {
      expect(f.batch).toBe(variants.length);
      expect(f.tokens).toHaveLength(variants.length * c.seq_len);
      expect(f.grids).toHaveLength(variants.length);
    }
  });

  test('the variant matching the fixture reproduces upstream argmax and q_halt at every step, inside the batch', () => {
    let flips = 0;
    frames.filter((f) => f.h === model.manifest.config.H_cycles - 1).forEach((f, s) => {
      const want = expected.steps[s].argmax[testRow];
      for (let i = 0; i < 900; i++) if (f.tokens[i] !== want[i]) flips++;
      expect(Math.abs(f.qHalt[0] - expected.steps[s].q_halt[testRow])).toBeLessThan(1e-3);
    });
    // fp32 reordering drift may flip a near-tie cell over 480 block applications; never more than a few.
    expect(flips).toBeLessThanOrEqual(3);
  });

  test('every frame is cropped and de-augmented per variant as upstream does', () => {
    for (const f of frames) {
      variants.forEach((v, i) => {
        const tokens = f.tokens.subarray(i * 900, (i + 1) * 900);
        expect(f.grids[i]).toEqual(upstreamDecode(tokens, v));
        const g = f.grids[i];
        expect(f.gridConfidence[i].map((r) => r.length)).toEqual(g.map((r) => r.length));
        expect(f.gridConfidence[i].flat().every((p) => p > 0 && p <= 1)).toBe(true);
      });
    }
  });

  test('predictions are voted by (count, mean sigmoid(q_halt)) into attempt_1 / attempt_2', () => {
    const last = frames.at(-1)!;
    const groups = new Map<string, { grid: Grid; count: number; q: number[] }>();
    variants.forEach((v, i) => {
      const grid = upstreamDecode(last.tokens.subarray(i * 900, (i + 1) * 900), v);
      const key = JSON.stringify(grid);
      const g = groups.get(key) ?? { grid, count: 0, q: [] };
      g.count++;
      g.q.push(1 / (1 + Math.exp(-last.qHalt[i])));
      groups.set(key, g);
    });
    const ranked = [...groups.values()]
      .map((g) => ({ grid: g.grid, count: g.count, meanQ: g.q.reduce((a, b) => a + b) / g.q.length }))
      .sort((a, b) => b.count - a.count || b.meanQ - a.meanQ);
    expect(result.candidates.map((c) => [c.grid, c.count])).toEqual(ranked.map((c) => [c.grid, c.count]));
    result.candidates.forEach((c, i) => expect(c.meanQ).toBeCloseTo(ranked[i].meanQ, 12));
    expect(result.attempts.attempt_1).toEqual(ranked[0].grid);
    expect(result.attempts.attempt_2).toEqual((ranked[1] ?? ranked[0]).grid);
    expect(result.predictions.map((p) => p.grid)).toEqual(variants.map((v, i) => upstreamDecode(last.tokens.subarray(i * 900, (i + 1) * 900), v)));
  });

  test('stopAtHalt stops after the step where upstream q_halt first turns positive', async () => {
    const haltAt = expected.steps.findIndex((st) => st.q_halt[testRow] > 0);
    expect(haltAt).toBeGreaterThanOrEqual(0);
    const own: FrameBatch[] = [];
    const r = await solveTestInput(model.ort, model.sessions, {
      config: model.manifest.config, taskId: 'fixture', testIndex: 0, input: fixtureGrid(testRow),
      variants: [variants[0]], puzzle: await tableRows(model, [variants[0].row]), stopAtHalt: true,
      backend: { backend: 'wasm', precision: 'fp32', reason: 'node', forced: true },
      onFrame: (f) => { own.push(f); },
    });
    expect(r.steps).toBe(haltAt + 1);
    expect(r.haltStep).toEqual([haltAt]);
    expect(own).toHaveLength((haltAt + 1) * model.manifest.config.H_cycles);
    expect(own.at(-1)!.haltHere).toEqual([true]);
  });

  test('the halt marker is the first step whose q_halt logit is positive', () => {
    const ends = frames.filter((f) => f.h === model.manifest.config.H_cycles - 1);
    variants.forEach((_, i) => {
      const first = ends.findIndex((f) => f.qHalt[i] > 0);
      expect(result.haltStep[i]).toBe(first);
      expect(ends.flatMap((f, s) => (f.haltHere[i] ? [s] : []))).toEqual(first < 0 ? [] : [first]);
    });
    const t = result.timings;
    expect(t.perHCycleMs).toBeGreaterThan(0);
    console.log(`onnxruntime-node, batch ${variants.length}: first frame ${t.firstFrameMs.toFixed(0)} ms, per H-cycle ${t.perHCycleMs.toFixed(0)} ms, per ACT step ${t.perActMs.toFixed(0)} ms`);
  });
});
