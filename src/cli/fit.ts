/** `trm fit --model DIR --tasks PATH`: fits puzzle rows for new tasks (network frozen) into a model overlay. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { formatLoadError, parseSources, type SourceText } from '../arc/parse.ts';
import { OptionsError } from '../convert/errors.ts';
import { readManifest } from '../engine/node-runtime.ts';
import type { Manifest } from '../model/manifest.ts';
import { ModelFileError, releaseSessions } from '../engine/sessions.ts';
import { demonstrationLoss, exactMatches, fitPuzzleRow, FitError, startRows, taskExamples, variantExamples, type FitExample } from '../fit/fit.ts';
import { fitVariants, MAX_FIT_VARIANTS, OverlayError } from '../fit/overlay.ts';
import type { Variant } from '../model/manifest.ts';
import { writeOverlayRow } from '../fit/node-overlay.ts';
import { estimateFullFit, fitFullNetwork, FULL_FIT_WEIGHT_LR, fullDemonstrationLoss, openFitFullSessions, openTunedSessions, tunedWeights } from '../fit/fit-full.ts';
import type { Task } from '../arc/types.ts';
import type { InferenceSession } from 'onnxruntime-common';
import { openFitSessions, releaseFitSessions } from '../fit/sessions.ts';
import { positiveInt } from './convert.ts';
import { progressBar } from './progress.ts';

export const FIT_USAGE = `usage: trm fit --model <dir> --tasks <file|dir> [options]
  Fits a puzzle-embedding row per task on its demonstrations (network frozen) and
  writes them to a model overlay (overlay.json + puzzles/<task>.bin).
  --model DIR          converted model directory; needs fit_grad.onnx (trm convert --grad)
  --tasks PATH         a task .json, a challenges file {id: task}, or a directory of task files
  --steps N            fitting steps = ACT steps with deep supervision (default 50)
  --out DIR            overlay directory (default <model>/overlay); existing tasks there are kept
  --optimizer NAME     adam (default) or sign (upstream's sign-SGD for puzzle rows)
  --lr X               learning rate (default 0.01)
  --hold-out K         keep the last K demonstrations out of fitting and report exact matches on them
  --batch N            demonstrations per session call (default 8); more are chunked
  --threads N          onnxruntime intra-op threads (default 1)
  --mode row|full      row (default): network frozen; full: fine-tune every weight with the row
                       (needs fit_full.onnx, written by trm convert --grad for models up to 2M
                       weights); the task's weights go to weights/<task>.bin in the overlay and
                       the cost (memory, measured time per step) is printed before it starts
  --weight-lr X        full mode: Adam learning rate of the weights (default ${FULL_FIT_WEIGHT_LR})
  --variants K         augmented variants to fit, one row each, 1..${MAX_FIT_VARIANTS} (default 1): the task as given
                       plus K − 1 dihedral transforms with colour permutations; trm eval votes over
                       them. A step costs about K times as much`;

export async function readTaskSources(path: string): Promise<SourceText[]> {
  const st = await stat(path).catch(() => { throw new OptionsError(`--tasks ${path}: no such file or directory`); });
  const names = st.isDirectory() ? (await readdir(path)).filter((n) => n.endsWith('.json')).sort().map((n) => join(path, n)) : [path];
  if (!names.length) throw new OptionsError(`--tasks ${path}: directory has no .json task files`);
  return Promise.all(names.map(async (n) => ({ name: n, text: await readFile(n, 'utf8') })));
}

/** Upstream starts new rows at the checkpoint table's mean row (trm-reference.md §7.1); any exported rows stand in for it. */
export async function meanRow(dir: string, m: Manifest): Promise<Float32Array> {
  const W = m.config.puzzle_emb_ndim, sum = new Float64Array(W);
  const paths = m.puzzles.table ? [m.puzzles.table.path] : Object.values(m.puzzles.tasks).map((t) => t.path);
  let rows = 0;
  for (const p of paths) {
    const a = new Float32Array(Uint8Array.from(await readFile(join(dir, p))).buffer);
    for (let i = 0; i < a.length; i++) sum[i % W] += a[i];
    rows += a.length / W;
  }
  return Float32Array.from(sum, (v) => (rows ? v / rows : 0));
}

export async function runFit(args: string[]): Promise<number> {
  try {
    return await fit(args);
  } catch (e) {
    // Bad tasks, models without a gradient graph, foreign overlays: one clear line from main.
    if (e instanceof FitError || e instanceof ModelFileError || e instanceof OverlayError) throw new OptionsError(e.message);
    throw e;
  }
}

async function fit(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, tasks: { type: 'string' }, steps: { type: 'string' }, out: { type: 'string' },
      optimizer: { type: 'string' }, lr: { type: 'string' }, 'hold-out': { type: 'string' }, batch: { type: 'string' },
      threads: { type: 'string' }, mode: { type: 'string' }, 'weight-lr': { type: 'string' }, variants: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(FIT_USAGE); return 0; }
  const mode = values.mode ?? 'row';
  if (mode !== 'row' && mode !== 'full') throw new OptionsError(`--mode must be row or full, got "${values.mode}"`);
  const weightLr = values['weight-lr'] === undefined ? FULL_FIT_WEIGHT_LR : Number(values['weight-lr']);
  if (!(weightLr > 0)) throw new OptionsError(`--weight-lr must be a positive number, got "${values['weight-lr']}"`);
  if (mode === 'row' && values['weight-lr'] !== undefined) throw new OptionsError('--weight-lr applies to --mode full only');
  if (mode === 'full' && values.optimizer !== undefined && values.optimizer !== 'adam') throw new OptionsError('--mode full uses Adam only (no --optimizer sign)');
  if (!values.model || !values.tasks) throw new OptionsError(`expected --model and --tasks\n${FIT_USAGE}`);
  const optimizer = values.optimizer ?? 'adam';
  if (optimizer !== 'adam' && optimizer !== 'sign') throw new OptionsError(`--optimizer must be adam or sign, got "${optimizer}"`);
  const lr = values.lr === undefined ? 1e-2 : Number(values.lr);
  if (!(lr > 0)) throw new OptionsError(`--lr must be a positive number, got "${values.lr}"`);
  const steps = positiveInt(values.steps, '--steps', 50);
  const holdOut = positiveInt(values['hold-out'], '--hold-out', 0, 0);
  const maxBatch = positiveInt(values.batch, '--batch', 8);
  const threads = positiveInt(values.threads, '--threads', 1);
  const K = positiveInt(values.variants, '--variants', 1);
  if (K > MAX_FIT_VARIANTS) throw new OptionsError(`--variants must be 1..${MAX_FIT_VARIANTS} (one per dihedral transform), got ${K}`);
  const out = values.out ?? join(values.model, 'overlay');

  const loaded = parseSources(await readTaskSources(values.tasks));
  if (loaded.errors.length) throw new OptionsError(loaded.errors.map(formatLoadError).join('\n'));
  const manifest = await readManifest(values.model);
  const c = manifest.config;
  // Refuse every oversized task before spending time on any.
  const work = loaded.tasks.map((t) => {
    const all = taskExamples(t, c.grid_size);
    if (holdOut >= all.length) throw new OptionsError(`task "${t.id}": --hold-out ${holdOut} leaves no demonstrations to fit on (it has ${all.length})`);
    // One row per variant; every variant holds out the same demonstrations.
    const variants = fitVariants(t.id, K);
    return { task: t, variants, ...variantExamples(t, variants, c.grid_size, holdOut) };
  });
  const sessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 };
  if (mode === 'full') {
    await fitFullTasks(values.model, manifest, work, { steps, lr, weightLr, maxBatch, sessionOptions, out });
    console.log(`wrote ${join(out, 'overlay.json')} (${work.length} task(s), whole network fine-tuned per task)`);
    return 0;
  }
  const sessions = await openFitSessions(ort, manifest, async (p) => new Uint8Array(await readFile(join(values.model!, p))), sessionOptions);
  try {
    const mean = await meanRow(values.model, manifest);
    for (const [i, { task, variants, train, heldOut }] of work.entries()) {
      const bar = progressBar();
      const t0 = performance.now();
      const init = startRows(mean, train, c.puzzle_emb_ndim).rows;
      const before = await demonstrationLoss(ort, sessions, c, train, init, maxBatch);
      const { row } = await fitPuzzleRow(ort, sessions, {
        config: c, examples: train, init, steps, optimizer, lr, maxBatch,
        onProgress: (p) => bar.update({ phase: `fitting ${task.id} (${i + 1}/${work.length})`, done: p.step, total: p.steps }),
      }).finally(() => bar.done());
      const secs = (performance.now() - t0) / 1000;
      const after = await demonstrationLoss(ort, sessions, c, train, row, maxBatch);
      const trainOk = await exactMatches(ort, sessions, c, train, row, maxBatch);
      const heldOk = heldOut.length ? await exactMatches(ort, sessions, c, heldOut, row, maxBatch) : [];
      const count = (a: boolean[]) => a.filter(Boolean).length;
      await writeOverlayRow(out, manifest.name, task.id, row, {
        mode: 'row', steps, variants: variants.length, optimizer, lr, loss_before: before, loss_after: after, train_exact: count(trainOk), train_total: train.length,
        ...(heldOut.length ? { held_out_exact: count(heldOk), held_out_total: heldOut.length } : {}),
      }, undefined, variants);
      console.log(`${task.id}${K > 1 ? ` (${K} variants)` : ''}: loss ${before.toFixed(4)} → ${after.toFixed(4)} in ${steps} steps (${(secs / steps).toFixed(3)} s/step), ` +
        `exact ${count(trainOk)}/${train.length} demonstrations${heldOut.length ? `, held out ${count(heldOk)}/${heldOut.length}` : ''}`);
    }
  } finally {
    await releaseFitSessions(sessions);
  }
  console.log(`wrote ${join(out, 'overlay.json')} (${work.length} task(s))`);
  return 0;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** --mode full: every weight fine-tuned with the row, per task; the task's weights go into the overlay. */
async function fitFullTasks(model: string, manifest: Manifest, work: { task: Task; variants: Variant[]; train: FitExample[]; heldOut: FitExample[] }[],
  o: { steps: number; lr: number; weightLr: number; maxBatch: number; sessionOptions: InferenceSession.SessionOptions; out: string }) {
  const c = manifest.config;
  // ORT warns about nothing useful here, but the fine-tuned graphs are built at run time: keep its log quiet.
  const opts = { ...o.sessionOptions, logSeverityLevel: 3 as const };
  const s = await openFitFullSessions(ort, manifest, async (p) => new Uint8Array(await readFile(join(model, p))), opts);
  try {
    const mean = await meanRow(model, manifest);
    const count = (a: boolean[]) => a.filter(Boolean).length;
    for (const [i, { task, variants, train, heldOut }] of work.entries()) {
      const init = startRows(mean, train, c.puzzle_emb_ndim).rows;
      const fit = { config: c, examples: train, init, steps: o.steps, lr: o.lr, weightLr: o.weightLr, maxBatch: o.maxBatch };
      const cost = await estimateFullFit(ort, s, fit);
      console.log(`${task.id}: whole-network fine-tuning of ${cost.weights.toLocaleString('en')} weights: weights ${mib(cost.weightBytes)}, ` +
        `Adam state ${mib(cost.optimizerBytes)}, gradients ${mib(cost.gradientBytes)}; one step measured ${cost.msPerStep.toFixed(0)} ms × ${o.steps} steps ≈ ${(cost.estimatedMs / 1000).toFixed(1)} s`);
      const bar = progressBar();
      const t0 = performance.now();
      const before = await fullDemonstrationLoss(ort, s, c, train, init, {}, o.maxBatch);
      const r = await fitFullNetwork(ort, s, {
        ...fit, onProgress: (p) => bar.update({ phase: `fine-tuning ${task.id} (${i + 1}/${work.length})`, done: p.step, total: p.steps }),
      }).finally(() => bar.done());
      const secs = (performance.now() - t0) / 1000;
      const after = await fullDemonstrationLoss(ort, s, c, train, r.row, r.weights, o.maxBatch);
      const tuned = await openTunedSessions(ort, c, tunedWeights(c, s.weights, r.weights), opts);
      let trainOk: boolean[], heldOk: boolean[];
      try {
        trainOk = await exactMatches(ort, tuned, c, train, r.row, o.maxBatch);
        heldOk = heldOut.length ? await exactMatches(ort, tuned, c, heldOut, r.row, o.maxBatch) : [];
      } finally {
        await releaseSessions(tuned);
      }
      const tensors = s.weights.filter((t) => t.trained).map((t) => ({ name: t.name, dims: t.dims, data: r.weights[t.name] }));
      await writeOverlayRow(o.out, manifest.name, task.id, r.row, {
        mode: 'full', steps: o.steps, variants: variants.length, optimizer: 'adam', lr: o.lr, weight_lr: o.weightLr, loss_before: before, loss_after: after,
        train_exact: count(trainOk), train_total: train.length,
        ...(heldOut.length ? { held_out_exact: count(heldOk), held_out_total: heldOut.length } : {}),
      }, tensors, variants);
      console.log(`${task.id}: loss ${before.toFixed(4)} → ${after.toFixed(4)} in ${o.steps} steps (${(secs / o.steps).toFixed(3)} s/step, whole network), ` +
        `exact ${count(trainOk)}/${train.length} demonstrations${heldOut.length ? `, held out ${count(heldOk)}/${heldOut.length}` : ''}`);
    }
  } finally {
    await s.full.release();
  }
}
