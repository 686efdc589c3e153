/**
 * Fitting rows for augmented variants (FitRequest.variants, issue 9) on models/demo with
 * onnxruntime-node: K rows fitted jointly in one loop, each demonstration on its own variant's
 * row, the identity first; a solve with the K fitted rows votes over K de-augmented
 * predictions; K = 1 is the old single-row fit; bad K is refused by field. Whole-network mode
 * with K = 2 shares the weights (skipped when models/demo has no fit_full.onnx).
 * Dimensions come from the manifest: models/demo may be retrained with another canvas.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { augmentGrid } from '../arc/augment.ts';
import { demoTasks } from '../arc/demo/index.ts';
import type { Task } from '../arc/types.ts';
import { RunController } from '../engine/control.ts';
import { readManifest } from '../engine/node-runtime.ts';
import type { FitProgressEvent, FittedRows } from '../engine/protocol.ts';
import { releaseSessions } from '../engine/sessions.ts';
import { solveTestInput } from '../engine/solve.ts';
import type { Manifest } from '../model/manifest.ts';
import { loadVariants } from '../model/puzzles.ts';
import { demonstrationLoss, fitPuzzleRow, taskExamples, variantExamples, type FitSessions } from './fit.ts';
import { openFitFullSessions, openTunedSessions } from './fit-full.ts';
import { initialRow, runFitJob, runFullFitJob } from './job.ts';
import { fitVariants, originalVariant } from './overlay.ts';
import { openFitSessions, releaseFitSessions } from './sessions.ts';

const MODEL = resolve(import.meta.dirname, '../../models/demo');
const read = async (p: string) => new Uint8Array(await readFile(join(MODEL, p)));
const base = demoTasks.find((t) => t.id === 'demo-flip-1')!;
const TASK: Task = { ...base, id: 'new-flip' };
const OPTS = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 as const };
const identity = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

describe('fitVariants', () => {
  it('identity first, distinct dihedral transforms, colour 0 fixed, reproducible from the task id', () => {
    const v = fitVariants('abc', 8);
    expect(v[0]).toEqual(originalVariant('abc'));
    expect(v.map((x) => x.tid).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(v.map((x) => x.row)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const x of v) {
      expect(x.perm[0]).toBe(0);
      expect([...x.perm].sort()).toEqual(identity);
    }
    expect(v[3].name).toBe(`abc|||t${v[3].tid}|||${v[3].perm.join('')}`);
    expect(fitVariants('abc', 8)).toEqual(v);
    expect(fitVariants('abc', 3)).toEqual(v.slice(0, 3));
    expect(fitVariants('abd', 8)).not.toEqual(v);
    expect(() => fitVariants('abc', 9)).toThrow(/1\.\.8/);
  });
});

describe('runFitJob with augmented variants on models/demo (onnxruntime-node)', () => {
  let manifest: Manifest, s: FitSessions, fitted: FittedRows, init: Float32Array;
  beforeAll(async () => {
    manifest = await readManifest(MODEL);
    s = await openFitSessions(ort, manifest, read, OPTS);
    init = await initialRow(manifest, read);
  });
  afterAll(async () => { if (s) await releaseFitSessions(s); });

  it('K = 1 is the old single-row fit, bit for bit; variants: 1 equals no field', async () => {
    const c = manifest.config, steps = 4;
    const job = (req: object) => runFitJob(ort, s, manifest, { task: TASK, steps, evalEvery: 100, ...req }, new RunController(), () => {}, { init });
    const plain = await job({}), one = await job({ variants: 1 });
    // The loop as it was called before variants existed: the task's own canvases, one row.
    const direct = await fitPuzzleRow(ort, s, { config: c, examples: taskExamples(TASK, c.grid_size), init, steps });
    expect(plain.variants).toEqual([originalVariant(TASK.id)]);
    expect(plain.rows).toEqual(direct.row);
    expect(one.rows).toEqual(direct.row);
    expect(plain.stats).toMatchObject({ variants: 1, train_total: TASK.train.length });
  });

  it('K = 4: four variants (identity first), four rows each moved from the start, loss falls, totals over all variants', async () => {
    const c = manifest.config, W = c.puzzle_emb_ndim, steps = 20, K = 4, n = TASK.train.length;
    const timed = async (variants: number) => {
      const events: FitProgressEvent[] = [];
      // maxBatch 3: chunks mix variants, so every session call feeds each demonstration its own row.
      const r = await runFitJob(ort, s, manifest, { task: TASK, steps, evalEvery: 10, holdOut: 1, variants }, new RunController(), (e) => events.push(e), { init, maxBatch: 3 });
      // Steps 2..9 are fitting only (scoring at 10 and 20).
      return { r, events, msPerStep: (events[8].elapsedMs - events[0].elapsedMs) / 8 };
    };
    const k1 = await timed(1);
    const k4 = await timed(K);
    fitted = k4.r;
    const losses = k4.events.map((e) => e.loss);
    console.log(`demo fit, ${n - 1} demos + 1 held out, maxBatch 3 (node, 1 thread): K=1 ${k1.msPerStep.toFixed(1)} ms/step, K=4 ${k4.msPerStep.toFixed(1)} ms/step ` +
      `(×${(k4.msPerStep / k1.msPerStep).toFixed(2)}); K=4 loss step 1 ${losses[0].toFixed(4)} → step ${steps} ${losses.at(-1)!.toFixed(4)}, fresh-carry ` +
      `${fitted.stats.loss_before.toFixed(4)} → ${fitted.stats.loss_after.toFixed(4)}, train exact ${fitted.stats.train_exact}/${fitted.stats.train_total}, ` +
      `held out ${fitted.stats.held_out_exact}/${fitted.stats.held_out_total} (K=1: ${k1.r.stats.train_exact}/${k1.r.stats.train_total}, ${k1.r.stats.held_out_exact}/${k1.r.stats.held_out_total})`);

    expect(fitted.variants).toHaveLength(K);
    expect(fitted.variants[0]).toEqual(originalVariant(TASK.id));
    expect(new Set(fitted.variants.map((v) => v.tid)).size).toBe(K);
    expect(fitted.variants).toEqual(fitVariants(TASK.id, K));
    expect(fitted.rows.length).toBe(K * W);
    for (let v = 0; v < K; v++) {
      const row = fitted.rows.subarray(v * W, (v + 1) * W);
      const moved = Math.max(...row.map((x, k) => Math.abs(x - init[k])));
      expect(moved, `row ${v} moved by ${moved}`).toBeGreaterThan(1e-3);
    }
    // The rows were fitted apart, not copies of one.
    expect(fitted.rows.subarray(W, 2 * W)).not.toEqual(fitted.rows.subarray(0, W));
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    expect(fitted.stats.loss_after).toBeLessThan(fitted.stats.loss_before);
    // Held out in every variant: K × (n − 1) trained, K held out; the progress says the same.
    expect(fitted.stats).toMatchObject({ variants: K, train_total: K * (n - 1), held_out_total: K, mode: 'row' });
    expect(k4.events.every((e) => e.trainTotal === K * (n - 1) && e.heldOutTotal === K)).toBe(true);
    // 3 of 4n − 4 demonstrations per session call.
    expect(k4.events[0].batches).toBe(Math.ceil((K * (n - 1)) / 3));
  });

  it('each demonstration runs on its own variant\'s row (the loss over all = the mean of per-variant losses)', async () => {
    expect(fitted).toBeDefined();
    const c = manifest.config, W = c.puzzle_emb_ndim;
    const { train } = variantExamples(TASK, fitted.variants, c.grid_size);
    // Variant v's canvases are the augmented task's.
    const v2 = fitted.variants[2];
    expect(train.find((e) => e.variant === 2)!.labels).toEqual(taskExamples({ ...TASK, train: [{ input: augmentGrid(TASK.train[0].input, v2), output: augmentGrid(TASK.train[0].output, v2) }] }, c.grid_size)[0].labels);
    const all = await demonstrationLoss(ort, s, c, train, fitted.rows, 8);
    let sum = 0;
    for (let v = 0; v < fitted.variants.length; v++) {
      const own = train.filter((e) => e.variant === v).map((e) => ({ ...e, variant: 0 }));
      sum += own.length * await demonstrationLoss(ort, s, c, own, fitted.rows.slice(v * W, (v + 1) * W), 1);
    }
    expect(Math.abs(all - sum / train.length)).toBeLessThan(1e-5 * all);
  });

  it('a solve with the 4 fitted rows runs and votes over 4 de-augmented variants', async () => {
    expect(fitted).toBeDefined();
    const { plan, puzzle } = await loadVariants(manifest, TASK, 8, read, { variants: fitted.variants, rows: fitted.rows });
    expect(plan.variants.map((v) => v.source)).toEqual(['fitted', 'fitted', 'fitted', 'fitted']);
    const r = await solveTestInput(ort, s, {
      config: manifest.config, taskId: TASK.id, testIndex: 0, input: TASK.test[0].input, variants: plan.variants, puzzle,
      backend: { backend: 'wasm', precision: 'fp32', reason: 'test', forced: true },
    });
    expect(r.predictions).toHaveLength(4);
    // Every variant's de-augmented prediction is a vote: the counts add up to 4.
    expect(r.candidates.reduce((a, x) => a + x.count, 0)).toBe(4);
    expect(r.candidates.flatMap((x) => x.variants).sort()).toEqual([0, 1, 2, 3]);
    const expected = TASK.test[0].output!;
    const same = (g: number[][]) => JSON.stringify(g) === JSON.stringify(expected);
    console.log(`new-flip test with 4 fitted variants: votes ${r.candidates.map((x) => x.count).join('/')}, per variant exact ${r.predictions.map((p) => same(p.grid)).join(',')}, ` +
      `pass@1 ${same(r.attempts.attempt_1)}, pass@2 ${same(r.attempts.attempt_1) || same(r.attempts.attempt_2)}`);
  });

  it('refuses variants outside 1..8 by field', async () => {
    const job = (variants: unknown) => runFitJob(ort, s, manifest, { task: TASK, steps: 1, variants } as never, new RunController(), () => {});
    for (const bad of [0, 9, 2.5, '4', null]) {
      await expect(job(bad)).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'variants' } });
    }
    await expect(job(9)).rejects.toThrow(/variants must be an integer 1\.\.8/);
  });
});

const hasFull = !!(await readManifest(MODEL)).graphs.gradFull;

describe('runFullFitJob with 2 variants on models/demo', () => {
  it.skipIf(!hasFull)('shares the weights, fits one row per variant, loss falls', async () => {
    const manifest = await readManifest(MODEL);
    const W = manifest.config.puzzle_emb_ndim;
    const full = await openFitFullSessions(ort, manifest, read, OPTS);
    try {
      const events: FitProgressEvent[] = [];
      const r = await runFullFitJob(ort, full, manifest, { task: TASK, mode: 'full', steps: 6, evalEvery: 6, variants: 2 }, new RunController(), (e) => events.push(e), {
        readFile: read, openTuned: (w) => openTunedSessions(ort, manifest.config, w, OPTS), releaseTuned: releaseSessions,
      });
      console.log(`demo full fit K=2: loss ${events[0].loss.toFixed(4)} → ${events.at(-1)!.loss.toFixed(4)}, train exact ${r.stats.train_exact}/${r.stats.train_total}`);
      expect(r.variants).toEqual(fitVariants(TASK.id, 2));
      expect(r.rows.length).toBe(2 * W);
      expect(r.stats).toMatchObject({ mode: 'full', variants: 2, train_total: 2 * TASK.train.length });
      expect(r.weights && Object.keys(r.weights).length).toBeGreaterThan(0);
      expect(events.at(-1)!.loss).toBeLessThan(events[0].loss);
      expect(r.rows.subarray(W)).not.toEqual(r.rows.subarray(0, W));
    } finally {
      await full.full.release();
    }
  });
});
