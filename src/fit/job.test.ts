/**
 * The worker's fit job (runFitJob) on the committed demo model with onnxruntime-node, and a
 * solve with its fitted rows through the engine's own solve path (loadVariants + solveTestInput):
 * loss falls, progress streams once per step with scoring every evalEvery steps, cancel keeps
 * the best row, oversized grids and bad requests are refused by name, fitted rows change the solve.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoTasks } from '../arc/demo/index.ts';
import type { Task } from '../arc/types.ts';
import { RunController } from '../engine/control.ts';
import { CancelledError, InvalidRequestError, TaskTooLargeError } from '../engine/errors.ts';
import { readManifest } from '../engine/node-runtime.ts';
import type { FitProgressEvent, FittedRows } from '../engine/protocol.ts';
import { solveTestInput } from '../engine/solve.ts';
import type { Manifest } from '../model/manifest.ts';
import { loadVariants } from '../model/puzzles.ts';
import type { FitSessions } from './fit.ts';
import { runFitJob, type FitCheckpoint } from './job.ts';
import { openFitSessions, releaseFitSessions } from './sessions.ts';

const MODEL = resolve(import.meta.dirname, '../../models/demo');
const read = async (p: string) => new Uint8Array(await readFile(join(MODEL, p)));
// A family the demo model learned, under an id it has no row for: the "uploaded new task" case.
const base = demoTasks.find((t) => t.id === 'demo-flip-1')!;
const TASK: Task = { ...base, id: 'new-flip' };

describe('runFitJob on models/demo (onnxruntime-node)', () => {
  let manifest: Manifest, s: FitSessions, full: FittedRows;
  const events: FitProgressEvent[] = [];
  beforeAll(async () => {
    manifest = await readManifest(MODEL);
    s = await openFitSessions(ort, manifest, read, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
  });
  afterAll(async () => { if (s) await releaseFitSessions(s); });

  it('lowers the loss, streams one event per step, scores every evalEvery steps and the held-out demonstration', async () => {
    expect(TASK.train.length).toBeGreaterThanOrEqual(3);
    const steps = 30;
    full = await runFitJob(ort, s, manifest, { task: TASK, steps, evalEvery: 10, holdOut: 1 }, new RunController(), (p) => events.push(p), { readFile: read, maxBatch: 1 });
    const losses = events.map((e) => e.loss);
    const perStep = full.stats.ms / steps;
    // Steps 2..9 have no scoring: the fitting step alone.
    const stepOnly = (events[8].elapsedMs - events[0].elapsedMs) / 8;
    console.log(`demo fit (node, 1 thread, ${TASK.train.length - 1} demos + 1 held out, batches ${events[0].batches}): ${stepOnly.toFixed(1)} ms/step, ${perStep.toFixed(1)} ms/step incl. scoring; `
      + `loss step 1 ${losses[0].toFixed(4)} → step ${steps} ${losses.at(-1)!.toFixed(4)}; fresh-carry loss ${full.stats.loss_before.toFixed(4)} → ${full.stats.loss_after.toFixed(4)}; `
      + `train exact ${full.stats.train_exact}/${full.stats.train_total}, held out ${full.stats.held_out_exact}/${full.stats.held_out_total}, best step ${full.stats.best_step}`);
    expect(events.map((e) => e.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    expect(full.stats.loss_after).toBeLessThan(full.stats.loss_before);
    // Scoring only at 10, 20, 30; totals on every event.
    expect(events.filter((e) => e.trainCorrect !== undefined).map((e) => e.step)).toEqual([10, 20, 30]);
    expect(events.every((e) => e.trainTotal === TASK.train.length - 1 && e.heldOutTotal === 1)).toBe(true);
    expect(events.filter((e) => e.heldOutCorrect !== undefined).map((e) => e.step)).toEqual([10, 20, 30]);
    // Trained demonstrations one per session call: as many calls a step, said in the progress.
    expect(events[0]).toMatchObject({ batches: TASK.train.length - 1, maxBatch: 1 });
    expect(events.every((e, i) => i === 0 || e.elapsedMs >= events[i - 1].elapsedMs)).toBe(true);

    expect(full.taskId).toBe('new-flip');
    expect(full.model).toBe(manifest.name);
    expect(full.variants).toEqual([{ name: 'new-flip', tid: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], row: 0 }]);
    expect(full.rows).toBeInstanceOf(Float32Array);
    expect(full.rows.length).toBe(manifest.config.puzzle_emb_ndim);
    expect(full.stats).toMatchObject({ steps, mode: 'row', optimizer: 'adam', lr: 1e-2, held_out_total: 1, train_total: TASK.train.length - 1 });
    expect(full.stats.cancelled).toBeUndefined();
    // The returned row is the best scored one: its count is the highest seen.
    const scored = events.filter((e) => e.trainCorrect !== undefined);
    expect(full.stats.train_exact).toBe(Math.max(...scored.map((e) => e.trainCorrect!)));
    expect([10, 20, 30]).toContain(full.stats.best_step);
  });

  it('cancel after 3 steps resolves with the best row so far; cancel before any step rejects', async () => {
    const control = new RunController();
    const seen: FitProgressEvent[] = [];
    const r = await runFitJob(ort, s, manifest, { task: TASK, steps: 50 }, control, (p) => { seen.push(p); if (p.step === 3) control.cancel(); }, { readFile: read });
    expect(seen.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(r.stats.cancelled).toBe(true);
    expect(r.stats.steps).toBe(3);
    // Unscored: the row with the lowest loss, i.e. the row that step's loss was measured from (0..2).
    const lowest = seen.reduce((a, e, i) => (e.loss < seen[a].loss ? i : a), 0);
    expect(r.stats.best_step).toBe(lowest);
    expect(r.rows.length).toBe(manifest.config.puzzle_emb_ndim);
    expect(r.rows.every(Number.isFinite)).toBe(true);
    expect(r.stats.train_total).toBe(TASK.train.length);

    const early = new RunController();
    early.cancel();
    await expect(runFitJob(ort, s, manifest, { task: TASK, steps: 5 }, early, () => {}, { readFile: read })).rejects.toThrow(CancelledError);
  });

  it('a fit that fails mid-way continues from its checkpoint (best rows, step numbers, loss_before, time); cancel there keeps them', async () => {
    const W = manifest.config.puzzle_emb_ndim, steps = 8;
    let cp: FitCheckpoint | undefined;
    const first: FitProgressEvent[] = [];
    // A backend failing during step 5 (the worker's WebGPU case): the last checkpoint is step 4's, scored.
    await expect(runFitJob(ort, s, manifest, { task: TASK, steps, evalEvery: 4 }, new RunController(),
      (p) => { first.push(p); if (p.step === 5) throw new Error('backend failed'); }, { readFile: read, onCheckpoint: (c) => { cp = c; } })).rejects.toThrow('backend failed');
    expect(first.map((e) => e.step)).toEqual([1, 2, 3, 4, 5]);
    expect(cp).toMatchObject({ step: 4, bestStep: 4 });
    expect(cp!.rows.length).toBe(W);
    expect(cp!.elapsedMs).toBeGreaterThanOrEqual(first[3].elapsedMs);

    const rest: FitProgressEvent[] = [];
    const r = await runFitJob(ort, s, manifest, { task: TASK, steps, evalEvery: 4 }, new RunController(), (p) => rest.push(p), { readFile: read, from: cp });
    expect(rest.map((e) => e.step)).toEqual([5, 6, 7, 8]);
    expect(rest.every((e) => e.steps === steps && Number.isFinite(e.loss) && e.elapsedMs >= cp!.elapsedMs)).toBe(true);
    expect(rest.filter((e) => e.trainCorrect !== undefined).map((e) => e.step)).toEqual([8]);
    expect(r.stats).toMatchObject({ steps, loss_before: cp!.lossBefore });
    expect(r.stats.ms).toBeGreaterThan(cp!.elapsedMs);
    // The continued fit starts at step 4's rows: they are the result unless a later step did as well.
    expect(r.stats.best_step).toBeGreaterThanOrEqual(4);
    if (r.stats.best_step === 4) expect(r.rows).toEqual(cp!.rows);

    // Cancelled before its first step: the checkpoint's rows come back, scored, no new step.
    const cancelled = new RunController();
    cancelled.cancel();
    const none: FitProgressEvent[] = [];
    const c = await runFitJob(ort, s, manifest, { task: TASK, steps, evalEvery: 4 }, cancelled, (p) => none.push(p), { readFile: read, from: cp });
    expect(none).toEqual([]);
    expect(c.stats).toMatchObject({ cancelled: true, steps: 4, best_step: 4, train_exact: first[3].trainCorrect, loss_before: cp!.lossBefore });
    expect(c.rows).toEqual(cp!.rows);

    await expect(runFitJob(ort, s, manifest, { task: TASK, steps: 3 }, new RunController(), () => {}, { from: cp }))
      .rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'from.step' } });
  });

  it('refuses grids larger than the canvas, naming the field, and bad requests by field', async () => {
    const side = manifest.config.grid_size, n = side + 2;
    const big = Array.from({ length: n }, () => Array<number>(n).fill(1));
    const tooBig: Task = { id: 'big', train: [{ input: big, output: [[1]] }], test: [{ input: [[1]] }] };
    const job = (req: object) => runFitJob(ort, s, manifest, { task: TASK, ...req }, new RunController(), () => {});
    await expect(job({ task: tooBig })).rejects.toThrow(TaskTooLargeError);
    await expect(job({ task: tooBig })).rejects.toThrow(`train[0].input is ${n}×${n}, larger than the model's ${side}×${side} canvas`);
    await expect(job({ task: tooBig })).rejects.toMatchObject({ details: { field: 'train[0].input', rows: n, cols: n, gridSize: side } });
    await expect(job({ task: { ...TASK, test: [{ input: big }] } })).rejects.toMatchObject({ name: 'TaskTooLargeError', details: { field: 'test[0].input' } });
    // Without fit_full.onnx the whole-network mode is refused by name; with it, runFitJob still fits rows only.
    const noFull = { ...manifest, graphs: { ...manifest.graphs, gradFull: undefined } };
    await expect(runFitJob(ort, s, noFull, { task: TASK, mode: 'full' }, new RunController(), () => {})).rejects.toThrow(InvalidRequestError);
    await expect(runFitJob(ort, s, noFull, { task: TASK, mode: 'full' }, new RunController(), () => {})).rejects.toThrow(/not available for this model: it has no fit_full\.onnx/);
    await expect(job({ mode: 'adapt' })).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'mode' } });
    await expect(job({ holdOut: TASK.train.length })).rejects.toThrow(/holdOut \d+ leaves no demonstrations/);
    await expect(job({ steps: 0 })).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'steps' } });
    await expect(job({ optimizer: 'sgd' })).rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'optimizer' } });
  });

  it('a solve with the fitted rows differs from the blank-row solve and reports source "fitted"', async () => {
    expect(full).toBeDefined();
    const solve = async (fitted?: { variants: FittedRows['variants']; rows: Float32Array }) => {
      const { plan, puzzle } = await loadVariants(manifest, TASK, 1, read, fitted);
      return solveTestInput(ort, s, {
        config: manifest.config, taskId: TASK.id, testIndex: 0, input: TASK.test[0].input, variants: plan.variants, puzzle,
        backend: { backend: 'wasm', precision: 'fp32', reason: 'test', forced: true },
      });
    };
    const blank = await solve();
    const fitted = await solve({ variants: full.variants, rows: full.rows });
    expect(blank.variants[0].source).toBe('blank');
    expect(fitted.variants[0].source).toBe('fitted');
    const expected = TASK.test[0].output!;
    const cellAcc = (g: number[][]) => {
      let ok = 0, n = 0;
      expected.forEach((row, r) => row.forEach((v, c) => { n++; if (g[r]?.[c] === v) ok++; }));
      return ok / n;
    };
    console.log(`new-flip test: blank row q ${blank.predictions[0].q.toFixed(4)} cell acc ${cellAcc(blank.predictions[0].grid).toFixed(3)}; `
      + `fitted q ${fitted.predictions[0].q.toFixed(4)} cell acc ${cellAcc(fitted.predictions[0].grid).toFixed(3)} exact ${JSON.stringify(fitted.attempts.attempt_1) === JSON.stringify(expected)}`);
    // If the fitted rows were ignored, both runs would be the blank row's, bit for bit.
    expect(fitted.predictions[0].q).not.toBe(blank.predictions[0].q);

    const W = manifest.config.puzzle_emb_ndim;
    await expect(loadVariants(manifest, TASK, 1, read, { variants: full.variants, rows: new Float32Array(W + 1) }))
      .rejects.toMatchObject({ name: 'InvalidRequestError', details: { field: 'fitted.rows' } });
    await expect(loadVariants(manifest, TASK, 1, read, { variants: full.variants, rows: new Float32Array(W + 1) }))
      .rejects.toThrow(/rows has 65 values, expected 1 variants × puzzle_emb_ndim 64 = 64/);
  });
});
