/** `trm fit --model DIR --tasks PATH`: fits puzzle rows for new tasks (network frozen) into a model overlay. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { formatLoadError, parseSources, type SourceText } from '../arc/parse.ts';
import { OptionsError } from '../convert/errors.ts';
import { readManifest } from '../engine/node-runtime.ts';
import type { Manifest } from '../model/manifest.ts';
import { ModelFileError } from '../engine/sessions.ts';
import { demonstrationLoss, exactMatches, fitPuzzleRow, FitError, taskExamples } from '../fit/fit.ts';
import { OverlayError } from '../fit/overlay.ts';
import { writeOverlayRow } from '../fit/node-overlay.ts';
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
  --threads N          onnxruntime intra-op threads (default 1)`;

export async function readTaskSources(path: string): Promise<SourceText[]> {
  const st = await stat(path).catch(() => { throw new OptionsError(`--tasks ${path}: no such file or directory`); });
  const names = st.isDirectory() ? (await readdir(path)).filter((n) => n.endsWith('.json')).sort().map((n) => join(path, n)) : [path];
  if (!names.length) throw new OptionsError(`--tasks ${path}: directory has no .json task files`);
  return Promise.all(names.map(async (n) => ({ name: n, text: await readFile(n, 'utf8') })));
}

/** Upstream starts new rows at the checkpoint table's mean row (trm-reference.md §7.1); any exported rows stand in for it. */
async function meanRow(dir: string, m: Manifest): Promise<Float32Array> {
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
      threads: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(FIT_USAGE); return 0; }
  if (!values.model || !values.tasks) throw new OptionsError(`expected --model and --tasks\n${FIT_USAGE}`);
  const optimizer = values.optimizer ?? 'adam';
  if (optimizer !== 'adam' && optimizer !== 'sign') throw new OptionsError(`--optimizer must be adam or sign, got "${optimizer}"`);
  const lr = values.lr === undefined ? 1e-2 : Number(values.lr);
  if (!(lr > 0)) throw new OptionsError(`--lr must be a positive number, got "${values.lr}"`);
  const steps = positiveInt(values.steps, '--steps', 50);
  const holdOut = positiveInt(values['hold-out'], '--hold-out', 0, 0);
  const maxBatch = positiveInt(values.batch, '--batch', 8);
  const threads = positiveInt(values.threads, '--threads', 1);
  const out = values.out ?? join(values.model, 'overlay');

  const loaded = parseSources(await readTaskSources(values.tasks));
  if (loaded.errors.length) throw new OptionsError(loaded.errors.map(formatLoadError).join('\n'));
  const manifest = await readManifest(values.model);
  const c = manifest.config;
  // Refuse every oversized task before spending time on any.
  const work = loaded.tasks.map((t) => {
    const all = taskExamples(t, c.grid_size);
    if (holdOut >= all.length) throw new OptionsError(`task "${t.id}": --hold-out ${holdOut} leaves no demonstrations to fit on (it has ${all.length})`);
    return { task: t, train: all.slice(0, all.length - holdOut), heldOut: all.slice(all.length - holdOut) };
  });
  const sessions = await openFitSessions(ort, manifest, async (p) => new Uint8Array(await readFile(join(values.model!, p))),
    { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 });
  try {
    const init = await meanRow(values.model, manifest);
    for (const [i, { task, train, heldOut }] of work.entries()) {
      const bar = progressBar();
      const t0 = performance.now();
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
        steps, optimizer, lr, loss_before: before, loss_after: after, train_exact: count(trainOk), train_total: train.length,
        ...(heldOut.length ? { held_out_exact: count(heldOk), held_out_total: heldOut.length } : {}),
      });
      console.log(`${task.id}: loss ${before.toFixed(4)} → ${after.toFixed(4)} in ${steps} steps (${(secs / steps).toFixed(3)} s/step), ` +
        `exact ${count(trainOk)}/${train.length} demonstrations${heldOut.length ? `, held out ${count(heldOk)}/${heldOut.length}` : ''}`);
    }
  } finally {
    await releaseFitSessions(sessions);
  }
  console.log(`wrote ${join(out, 'overlay.json')} (${work.length} task(s))`);
  return 0;
}
