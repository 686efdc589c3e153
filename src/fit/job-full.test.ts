/**
 * runFullFitJob (the worker's whole-network fit) on models/demo with onnxruntime-node: loss
 * falls, the result carries every trained weight with the model's sizes, cancel keeps the best
 * network so far, and a solve on fp32 graphs built with those weights (as the worker builds
 * them for SolveRequest.fitted.weights) differs from one with the model's own weights.
 * Skips, saying why, when models/demo has no fit_full.onnx (manifest graphs.gradFull).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoTasks } from '../arc/demo/index.ts';
import type { Task } from '../arc/types.ts';
import { trainedWeightCount } from '../convert/graphs.ts';
import { RunController } from '../engine/control.ts';
import { InvalidRequestError } from '../engine/errors.ts';
import { readManifest } from '../engine/node-runtime.ts';
import type { FitProgressEvent, FittedRows } from '../engine/protocol.ts';
import { releaseSessions } from '../engine/sessions.ts';
import { solveTestInput } from '../engine/solve.ts';
import { loadVariants } from '../model/puzzles.ts';
import { estimateFullFit, openFitFullSessions, openTunedSessions, tunedWeights, type FitFullSessions } from './fit-full.ts';
import { runFullFitJob, type FitCheckpoint } from './job.ts';

const MODEL = resolve(import.meta.dirname, '../../models/demo');
const read = async (p: string) => new Uint8Array(await readFile(join(MODEL, p)));
const manifest = await readManifest(MODEL);
const hasFull = !!manifest.graphs.gradFull;
if (!hasFull) console.warn('job-full.test.ts skipped: models/demo has no fit_full.onnx (manifest graphs.gradFull); reconvert it with `trm convert --grad`');

const base = demoTasks.find((t) => t.id === 'demo-flip-1')!;
const TASK: Task = { ...base, id: 'new-flip' };
const OPTS = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 as const };

describe.skipIf(!hasFull)('runFullFitJob on models/demo (onnxruntime-node)', () => {
  let s: FitFullSessions, fitted: FittedRows;
  const opened: string[] = [];
  const jobOptions = {
    readFile: read,
    openTuned: async (w: Parameters<typeof openTunedSessions>[2]) => { opened.push('tuned'); return openTunedSessions(ort, manifest.config, w, OPTS); },
    releaseTuned: releaseSessions,
  };
  beforeAll(async () => { s = await openFitFullSessions(ort, manifest, read, OPTS); });
  afterAll(async () => { if (s) await s.full.release(); });

  it('lowers the loss and returns every trained weight with the model\'s sizes', async () => {
    const c = manifest.config, steps = 12;
    const train = TASK.train.length - 1;
    const cost = await estimateFullFit(ort, s, { config: c, examples: (await import('./fit.ts')).taskExamples(TASK, c.grid_size).slice(0, train), init: new Float32Array(c.puzzle_emb_ndim), steps });
    const events: FitProgressEvent[] = [];
    fitted = await runFullFitJob(ort, s, manifest, { task: TASK, mode: 'full', steps, evalEvery: 6, holdOut: 1 }, new RunController(), (p) => events.push(p), jobOptions);
    const losses = events.map((e) => e.loss);
    const stepOnly = (events[4].elapsedMs - events[0].elapsedMs) / 4;
    console.log(`demo full fit (node, 1 thread, ${train} demos + 1 held out): estimate ${cost.msPerStep.toFixed(0)} ms/step, ` +
      `${(cost.weightBytes / 1e6).toFixed(2)} MB weights + ${(cost.optimizerBytes / 1e6).toFixed(2)} MB Adam; measured ${stepOnly.toFixed(1)} ms/step, ` +
      `${(fitted.stats.ms / steps).toFixed(1)} ms/step incl. scoring; loss ${losses[0].toFixed(4)} → ${losses.at(-1)!.toFixed(4)}; fresh-carry ` +
      `${fitted.stats.loss_before.toFixed(4)} → ${fitted.stats.loss_after.toFixed(4)}; train exact ${fitted.stats.train_exact}/${fitted.stats.train_total}, ` +
      `held out ${fitted.stats.held_out_exact}/${fitted.stats.held_out_total}, best step ${fitted.stats.best_step}`);
    expect(events.map((e) => e.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    expect(fitted.stats.loss_after).toBeLessThan(fitted.stats.loss_before);
    expect(events.filter((e) => e.trainCorrect !== undefined).map((e) => e.step)).toEqual([6, 12]);
    expect(fitted.stats).toMatchObject({ mode: 'full', steps, optimizer: 'adam', train_total: train, held_out_total: 1 });
    expect(fitted.stats.weight_lr).toBeGreaterThan(0);
    expect([6, 12]).toContain(fitted.stats.best_step);
    expect(fitted.rows.length).toBe(manifest.config.puzzle_emb_ndim);

    const trained = s.weights.filter((t) => t.trained);
    expect(Object.keys(fitted.weights!).sort()).toEqual(trained.map((t) => t.name).sort());
    let total = 0, changed = 0;
    for (const t of trained) {
      const w = fitted.weights![t.name];
      expect(w, t.name).toBeInstanceOf(Float32Array);
      expect(w.length, t.name).toBe(t.dims.reduce((a, b) => a * b, 1));
      expect(w.every(Number.isFinite), t.name).toBe(true);
      total += w.length;
      if (w.some((v, k) => v !== t.data[k])) changed++;
    }
    expect(total).toBe(trainedWeightCount(manifest.config));
    // Every trained tensor moved (Adam moves any weight with a nonzero gradient).
    expect(changed).toBe(trained.length);
    // Scoring builds the fine-tuned graphs: train + held out, at steps 6 and 12.
    expect(opened.length).toBe(4);
  });

  it('a solve on the fine-tuned weights differs from one with the model\'s own weights and the same row', async () => {
    expect(fitted?.weights).toBeDefined();
    const c = manifest.config;
    const solve = async (weights: Record<string, Float32Array>) => {
      const tuned = await openTunedSessions(ort, c, tunedWeights(c, s.weights, weights), OPTS);
      try {
        const { plan, puzzle } = await loadVariants(manifest, TASK, 1, read, { variants: fitted.variants, rows: fitted.rows });
        return await solveTestInput(ort, tuned, {
          config: c, taskId: TASK.id, testIndex: 0, input: TASK.test[0].input, variants: plan.variants, puzzle,
          backend: { backend: 'wasm', precision: 'fp32', reason: 'test', forced: true },
        });
      } finally {
        await releaseSessions(tuned);
      }
    };
    const own = await solve({});
    const tuned = await solve(fitted.weights!);
    const expected = TASK.test[0].output!;
    const acc = (g: number[][]) => { let ok = 0, n = 0; expected.forEach((r, i) => r.forEach((v, j) => { n++; if (g[i]?.[j] === v) ok++; })); return ok / n; };
    console.log(`new-flip test with the fitted row: own weights q ${own.predictions[0].q.toFixed(4)} cell acc ${acc(own.predictions[0].grid).toFixed(3)}; ` +
      `fine-tuned q ${tuned.predictions[0].q.toFixed(4)} cell acc ${acc(tuned.predictions[0].grid).toFixed(3)}`);
    expect(tuned.variants[0].source).toBe('fitted');
    // Were the weights ignored, both runs would be bit for bit the same.
    expect(tuned.predictions[0].q).not.toBe(own.predictions[0].q);
  });

  it('a whole-network fit that fails mid-way continues from its checkpoint\'s rows and weights', async () => {
    const steps = 4;
    let cp: FitCheckpoint | undefined;
    await expect(runFullFitJob(ort, s, manifest, { task: TASK, mode: 'full', steps, evalEvery: 2 }, new RunController(),
      (p) => { if (p.step === 3) throw new Error('backend failed'); }, { ...jobOptions, onCheckpoint: (c) => { cp = c; } })).rejects.toThrow('backend failed');
    // Step 2 was scored: it is the checkpoint's snapshot, weights and all, and they moved from the model's own.
    expect(cp).toMatchObject({ step: 2, bestStep: 2 });
    const trained = s.weights.filter((t) => t.trained);
    expect(Object.keys(cp!.weights!).sort()).toEqual(trained.map((t) => t.name).sort());
    expect(trained.some((t) => cp!.weights![t.name].some((v, k) => v !== t.data[k]))).toBe(true);

    const before = trained.map((t) => Float32Array.from(t.data));
    const rest: FitProgressEvent[] = [];
    const r = await runFullFitJob(ort, s, manifest, { task: TASK, mode: 'full', steps, evalEvery: 2 }, new RunController(), (p) => rest.push(p), { ...jobOptions, from: cp });
    expect(rest.map((e) => e.step)).toEqual([3, 4]);
    expect(r.stats).toMatchObject({ steps, mode: 'full', loss_before: cp!.lossBefore });
    expect(r.stats.best_step).toBeGreaterThanOrEqual(2);
    if (r.stats.best_step === 2) expect(r.weights).toEqual(cp!.weights);
    // Continuing never writes into the sessions' own weights (the model stays as loaded).
    trained.forEach((t, i) => expect(t.data).toEqual(before[i]));
    await expect(runFullFitJob(ort, s, manifest, { task: TASK, mode: 'full', steps }, new RunController(), () => {}, { ...jobOptions, from: { ...cp!, weights: undefined } }))
      .rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'from.weights' } });
  });

  it('cancel after 2 steps keeps the best network so far; sign-SGD and models without fit_full.onnx are refused', async () => {
    const control = new RunController();
    const seen: FitProgressEvent[] = [];
    const r = await runFullFitJob(ort, s, manifest, { task: TASK, mode: 'full', steps: 20 }, control, (p) => { seen.push(p); if (p.step === 2) control.cancel(); }, jobOptions);
    expect(seen.map((e) => e.step)).toEqual([1, 2]);
    expect(r.stats).toMatchObject({ cancelled: true, steps: 2, mode: 'full' });
    const lowest = seen.reduce((a, e, i) => (e.loss < seen[a].loss ? i : a), 0);
    expect(r.stats.best_step).toBe(lowest);
    expect(Object.keys(r.weights!).length).toBe(s.weights.filter((t) => t.trained).length);

    const job = (req: object, m = manifest) => runFullFitJob(ort, s, m, { task: TASK, mode: 'full', ...req }, new RunController(), () => {}, jobOptions);
    await expect(job({ optimizer: 'sign' })).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'optimizer' } });
    await expect(job({ weightLr: -1 })).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'weightLr' } });
    await expect(job({}, { ...manifest, graphs: { ...manifest.graphs, gradFull: undefined } })).rejects.toThrow(InvalidRequestError);
  });
});
