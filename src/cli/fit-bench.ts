/**
 * `trm fit-bench` (npm run bench:fit): the effect of test-time fitting (issue 9) on held-out
 * tasks the model never saw. Per task: pass@1/pass@2 with the blank row (what `trm eval`
 * does for a task without rows), then K rows fitted on the demonstrations, one per augmented
 * variant (`trm fit --variants K`'s loop, in process), and pass@K voting over them; with graphs.gradFull also the whole-network mode (through
 * the `trm fit --mode full` / `trm eval --overlay` commands). Writes
 * bench/results/<date>-fit.{json,md} (numbered -2, -3, … rather than replacing a same-day result).
 * `--families learned` keeps the families the model solves on its demo tasks (the population issue 9
 * is judged on). `--tune` instead sweeps steps × lr on one task per family.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { demoTasks } from '../arc/demo/index.ts';
import { demoSuite, FAMILIES, heldOutSuite } from '../arc/generators/index.ts';
import { formatLoadError, parseSources } from '../arc/parse.ts';
import { DEFAULT_KS, scoreTask } from '../arc/score.ts';
import type { Task } from '../arc/types.ts';
import type { Candidate } from '../arc/vote.ts';
import { OptionsError } from '../convert/errors.ts';
import { readManifest } from '../engine/node-runtime.ts';
import { solveTestInput } from '../engine/solve.ts';
import { DEFAULT_FIT_STEPS, fitPuzzleRow, variantExamples, type FitSessions } from '../fit/fit.ts';
import { fitVariants, MAX_FIT_VARIANTS } from '../fit/overlay.ts';
import { openFitSessions, releaseFitSessions } from '../fit/sessions.ts';
import type { Manifest, Variant } from '../model/manifest.ts';
import { loadVariants } from '../model/puzzles.ts';
import { positiveInt } from './convert.ts';
import { taskFamily } from './eval.ts';
import { freshBase } from './results.ts';
import { meanRow, readTaskSources } from './fit.ts';
import { DEFAULT_EXCLUDE, trainingInputs } from './gen.ts';

export const FIT_BENCH_USAGE = `usage: trm fit-bench [--model DIR] [options]        (npm run bench:fit)
  Held-out tasks: pass@2 with the blank row vs after fitting a row (vs whole-network fine-tuning
  when the model has graphs.gradFull), fitting time, per family; bench/results/<date>-fit.{json,md}.
  --model DIR        converted model with fit_grad.onnx (default models/demo)
  --tasks FILE       held-out challenges (trm gen --held-out); default: generated here like trm gen
                     --held-out (seed 9), avoiding ${DEFAULT_EXCLUDE.join(', ')} when present
  --solutions FILE   their solutions (default FILE-solutions.json beside --tasks)
  --per-family N     held-out tasks per family (default 2)
  --families F       all (default) | learned | a comma list. learned: the families whose built-in demo tasks the
                     model solves with its own rows (pass@2 > 0, as trm eval), issue 9's "families the model learned"
  --steps N          fitting steps (default DEFAULT_FIT_STEPS = ${DEFAULT_FIT_STEPS}, src/fit/fit.ts)
  --lr X             Adam learning rate (default: fitPuzzleRow's)
  --weight-lr X      whole-network mode's weight learning rate (default: trm fit's, FULL_FIT_WEIGHT_LR)
  --variants K       augmented variants, 1..${MAX_FIT_VARIANTS} (default 8, as trm eval): voted with the blank row, and
                     fitted (one row each, trm fit --variants) and voted with the fitted rows
  --threads N        onnxruntime intra-op threads (default 1)
  --no-full          skip the whole-network mode even when the model has it
  --tune             sweep steps 50/100/200/400 × lr 1e-2/3e-2 on 1 task per family instead
  --out DIR          results directory (default bench/results)`;

const execRaw = promisify(execFile);
/** A child `trm` command; its failure names the command and ends with its stderr (a plain Error: no numeric `code`). */
async function exec(file: string, args: string[], opts: { maxBuffer: number }) {
  try {
    return await execRaw(file, args, opts);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`whole-network mode: \`trm ${args.slice(1).join(' ')}\` failed:\n${(err.stderr ?? err.message).trim().split('\n').slice(-8).join('\n')}`);
  }
}
const repoRoot = resolve(import.meta.dirname, '../..');

interface Score { pass1: number; pass2: number }
export interface TaskResult {
  task: string;
  family: string;
  demonstrations: number;
  tests: number;
  blank: Score;
  fitted: Score & { seconds: number; msPerStep: number; lossFirst: number; lossLast: number };
  /** seconds: the fitting loop alone (trm fit's s/step × steps); wallSeconds: the fit command end to end. */
  full?: Score & { seconds: number; msPerStep: number; wallSeconds: number };
}
export interface TuneResult { task: string; family: string; lr: number; steps: number; pass2: number; loss: number; seconds: number }

/** Held-out tasks with their solutions: from files, or generated exactly as `trm gen --held-out` does. */
async function heldOutTasks(tasksFile: string | undefined, solutions: string | undefined, perFamily: number, gridSize: number, families: Set<string>): Promise<{ tasks: Task[]; source: string }> {
  const wanted = (t: Task) => families.has(taskFamily(t.id).replace(/^heldout-/, ''));
  if (tasksFile) {
    const sol = solutions ?? tasksFile.replace(/(\.json)?$/, '-solutions.json');
    const sources = await readTaskSources(tasksFile);
    if (existsSync(sol)) sources.push({ name: sol, text: await readFile(sol, 'utf8') });
    const loaded = parseSources(sources);
    if (loaded.errors.length) throw new OptionsError(loaded.errors.map(formatLoadError).join('\n'));
    const unscored = loaded.tasks.filter((t) => t.test.some((p) => !p.output)).map((t) => t.id);
    if (unscored.length) throw new OptionsError(`--tasks ${tasksFile}: no solutions for ${unscored.slice(0, 3).join(', ')}${unscored.length > 3 ? ', …' : ''} (give --solutions)`);
    // At most perFamily per family, in file order.
    const count = new Map<string, number>();
    const tasks = loaded.tasks.filter(wanted).filter((t) => { const f = taskFamily(t.id); count.set(f, (count.get(f) ?? 0) + 1); return count.get(f)! <= perFamily; });
    return { tasks, source: tasksFile };
  }
  const excludeFiles = DEFAULT_EXCLUDE.filter((f) => existsSync(join(repoRoot, f)));
  const exclude = [...demoSuite({ gridSize }).flatMap(({ task }) => [...task.train, ...task.test].map((p) => p.input)),
    ...excludeFiles.flatMap((f) => trainingInputs(join(repoRoot, f)))];
  const tasks = heldOutSuite({ gridSize, perFamily, exclude }).map((f) => f.task).filter(wanted);
  return { tasks, source: `generated (trm gen --held-out, seed 9), avoiding the demo tasks${excludeFiles.length ? ` and ${excludeFiles.join(', ')}` : ' (no training set found!)'}` };
}

/** pass@1/pass@2 of one task with the model's rows (blank) or the given fitted rows, the engine `trm eval` uses. */
async function solveTask(s: FitSessions, manifest: Manifest, dir: string, task: Task, K: number, fitted?: { variants: Variant[]; rows: Float32Array }): Promise<Score> {
  const { plan, puzzle } = await loadVariants(manifest, task, K, async (p) => new Uint8Array(await readFile(join(dir, p))), fitted);
  const c = manifest.config;
  const candidates: Candidate[][] = [];
  for (const [i, test] of task.test.entries()) {
    const r = await solveTestInput(ort, s, {
      config: c, taskId: task.id, testIndex: i, input: test.input, variants: plan.variants, puzzle, steps: c.halt_max_steps,
      backend: { backend: 'wasm', precision: 'fp32', reason: 'onnxruntime-node (trm fit-bench)', forced: true },
    });
    candidates.push(r.candidates);
  }
  const score = scoreTask(task, candidates, DEFAULT_KS)!;
  return { pass1: score.passAt[1], pass2: score.passAt[2] };
}

/** Each family's pass@2 on the built-in demo tasks with the model's own rows (8 variants voted, as `trm eval`). */
async function demoPass2(s: FitSessions, manifest: Manifest, dir: string): Promise<Record<string, number>> {
  const scores: Record<string, number[]> = {};
  for (const task of demoTasks) (scores[taskFamily(task.id).replace(/^demo-/, '')] ??= []).push((await solveTask(s, manifest, dir, task, 8)).pass2);
  return Object.fromEntries(Object.entries(scores).map(([f, xs]) => [f, mean(xs)]));
}

/** Whole-network mode through the CLI (its overlay format belongs to `trm fit --mode full`). */
async function fullMode(model: string, task: Task, steps: number, threads: number, K: number, weightLr?: number): Promise<NonNullable<TaskResult['full']>> {
  const dir = await mkdtemp(join(tmpdir(), 'trm-fit-full-'));
  try {
    const tasksFile = join(dir, 'task.json'), sub = join(dir, 'submission.json');
    await writeFile(tasksFile, JSON.stringify({ [task.id]: { train: task.train, test: task.test.map((t) => ({ input: t.input })) } }));
    const trm = join(repoRoot, 'bin/trm.js');
    const t0 = performance.now();
    const { stdout } = await exec(process.execPath, [trm, 'fit', '--mode', 'full', '--model', model, '--tasks', tasksFile, '--steps', String(steps), '--variants', String(K), '--out', join(dir, 'overlay'), '--threads', String(threads),
      ...(weightLr ? ['--weight-lr', String(weightLr)] : [])], { maxBuffer: 1 << 26 });
    const wallSeconds = (performance.now() - t0) / 1000;
    // The command also opens sessions and scores the demonstrations: its own s/step is the loop's cost.
    const perStep = Number(/\(([\d.]+) s\/step/.exec(stdout)?.[1] ?? NaN);
    await exec(process.execPath, [trm, 'eval', '--model', model, '--tasks', tasksFile, '--overlay', join(dir, 'overlay'), '--out', sub, '--threads', String(threads)], { maxBuffer: 1 << 26 });
    const attempts = (JSON.parse(await readFile(sub, 'utf8')) as Record<string, { attempt_1: number[][]; attempt_2: number[][] }[]>)[task.id];
    const same = (a: number[][], b: number[][]) => JSON.stringify(a) === JSON.stringify(b);
    const hit = (k: 1 | 2) => task.test.filter((t, i) => same(attempts[i].attempt_1, t.output!) || (k === 2 && same(attempts[i].attempt_2, t.output!))).length / task.test.length;
    return { pass1: hit(1), pass2: hit(2), seconds: perStep * steps, msPerStep: 1000 * perStep, wallSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

function markdown(r: { date: string; model: string; source: string; steps: number; lr: number | null; K: number; results: TaskResult[]; machine: string; seconds: number; weightLr: number | null; demoScores?: Record<string, number> }): string {
  const full = r.results.some((t) => t.full);
  const fams = [...new Set(r.results.map((t) => t.family))];
  const row = (name: string, ts: TaskResult[]) => `| ${name} | ${ts.length} | ${pct(mean(ts.map((t) => t.blank.pass2)))} | ${pct(mean(ts.map((t) => t.fitted.pass2)))} |` +
    (full ? ` ${pct(mean(ts.map((t) => t.full?.pass2 ?? 0)))} |` : '') +
    ` ${mean(ts.map((t) => t.fitted.seconds)).toFixed(1)} | ${mean(ts.map((t) => t.fitted.msPerStep)).toFixed(0)} |` +
    (full ? ` ${mean(ts.map((t) => t.full?.seconds ?? 0)).toFixed(1)} | ${mean(ts.map((t) => t.full?.msPerStep ?? 0)).toFixed(0)} |` : '');
  return [
    `# Test-time fitting on held-out tasks — ${r.date}`,
    '',
    `Model \`${r.model}\`; tasks: ${r.source}. Blank row: ${r.K} augmented variant(s) voted (as \`trm eval\`). ` +
    `Fitted: ${r.K} row(s), one per augmented variant, fitted jointly with Adam${r.lr ? ` lr ${r.lr}` : ''} for ${r.steps} steps on the demonstrations, then those ${r.K} variant(s) voted` +
    (full ? `; full: \`trm fit --mode full --variants ${r.K}${r.weightLr ? ` --weight-lr ${r.weightLr}` : ''}\` (all weights + the rows, same steps), then \`trm eval --overlay\`. ` : '. ') +
    `onnxruntime-node CPU, 1 thread; ${r.machine}; whole bench ${(r.seconds / 60).toFixed(1)} min.`,
    '',
    ...(r.demoScores ? [`Families: those the model learned, i.e. whose built-in demo tasks it solves with its own rows (demo-suite pass@2: ${
      Object.entries(r.demoScores).map(([f, x]) => `${f} ${x}`).join(', ')}); the others are not benched.`, ''] : []),
    `| family | tasks | pass@2 blank | pass@2 fitted |${full ? ' pass@2 full |' : ''} fit s/task | ms/step |${full ? ' full s/task | full ms/step |' : ''}`,
    `|---|---:|---:|---:|${full ? '---:|' : ''}---:|---:|${full ? '---:|---:|' : ''}`,
    ...fams.map((f) => row(f, r.results.filter((t) => t.family === f))),
    row('**all**', r.results),
    '',
    'pass@1: blank ' + pct(mean(r.results.map((t) => t.blank.pass1))) + ', fitted ' + pct(mean(r.results.map((t) => t.fitted.pass1))) +
      (full ? ', full ' + pct(mean(r.results.map((t) => t.full?.pass1 ?? 0))) : '') + '.',
    '',
  ].join('\n');
}

export async function runFitBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, tasks: { type: 'string' }, solutions: { type: 'string' }, 'per-family': { type: 'string' },
      steps: { type: 'string' }, lr: { type: 'string' }, 'weight-lr': { type: 'string' }, variants: { type: 'string' }, threads: { type: 'string' },
      families: { type: 'string' }, 'no-full': { type: 'boolean' }, tune: { type: 'boolean' }, out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(FIT_BENCH_USAGE); return 0; }
  const model = values.model ?? join(repoRoot, 'models/demo');
  const steps = positiveInt(values.steps, '--steps', DEFAULT_FIT_STEPS);
  const K = positiveInt(values.variants, '--variants', 8);
  if (K > MAX_FIT_VARIANTS) throw new OptionsError(`--variants must be 1..${MAX_FIT_VARIANTS} (one fitted row per dihedral transform), got ${K}`);
  const threads = positiveInt(values.threads, '--threads', 1);
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (lr !== undefined && !(lr > 0)) throw new OptionsError(`--lr must be a positive number, got "${values.lr}"`);
  const weightLr = values['weight-lr'] === undefined ? undefined : Number(values['weight-lr']);
  if (weightLr !== undefined && !(weightLr > 0)) throw new OptionsError(`--weight-lr must be a positive number, got "${values['weight-lr']}"`);
  const outDir = values.out ?? join(repoRoot, 'bench/results');
  const manifest = await readManifest(model).catch(() => { throw new OptionsError(`--model ${model}: no manifest.json there`); });
  if (!manifest.graphs.grad) throw new OptionsError(`--model ${model}: no fit_grad.onnx (manifest graphs.grad); reconvert with trm convert --grad`);
  const c = manifest.config;
  const perFamily = positiveInt(values['per-family'], '--per-family', values.tune ? 1 : 2);
  const familySpec = values.families ?? 'all';
  const allFamilies = FAMILIES.map((f) => f.name);
  const listed = familySpec === 'all' || familySpec === 'learned' ? allFamilies : familySpec.split(',').map((f) => f.trim());
  const unknown = listed.filter((f) => !allFamilies.includes(f));
  if (unknown.length) throw new OptionsError(`--families: unknown family "${unknown[0]}" (all, learned, or a comma list of ${allFamilies.join(', ')})`);
  const withFull = !values['no-full'] && !values.tune && Boolean((manifest.graphs as { gradFull?: string }).gradFull);

  const s = await openFitSessions(ort, manifest, async (p) => new Uint8Array(await readFile(join(model, p))),
    { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 });
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${loadavg().map((x) => x.toFixed(1)).join('/')} at start`;
  const t0 = performance.now();
  await mkdir(outDir, { recursive: true });
  console.log(`fit-bench: K = ${K} variant(s): the blank row votes ${K} augmentations; ${K} row(s) fitted per task (a step costs about ${K}× one row's) and voted`);
  try {
    let demoScores: Record<string, number> | undefined;
    let families = listed;
    if (familySpec === 'learned') {
      demoScores = await demoPass2(s, manifest, model);
      families = listed.filter((f) => demoScores![f] > 0);
      console.log(`fit-bench: demo-suite pass@2 per family with the model's own rows: ${Object.entries(demoScores).map(([f, x]) => `${f} ${x}`).join(', ')}`);
      if (!families.length) throw new OptionsError(`--families learned: the model solves none of the built-in demo tasks with its own rows, so it learned no family`);
      console.log(`fit-bench: learned families: ${families.join(', ')}`);
    }
    const { tasks, source } = await heldOutTasks(values.tasks, values.solutions, perFamily, c.grid_size, new Set(families));
    if (!tasks.length) throw new OptionsError(`no held-out tasks of the families ${families.join(', ')}`);
    const init = await meanRow(model, manifest);
    if (values.tune) {
      const grid = { steps: [50, 100, 200, 400], lrs: [1e-2, 3e-2] };
      const tune: TuneResult[] = [];
      for (const [i, task] of tasks.entries()) {
        const variants = fitVariants(task.id, K);
        const examples = variantExamples(task, variants, c.grid_size).train;
        for (const rate of grid.lrs) {
          // One 400-step run per lr; the rows after 50, 100 and 200 steps are exactly those shorter runs' (Adam has no schedule).
          const snaps = new Map<number, { row: Float32Array; loss: number; seconds: number }>();
          const tFit = performance.now();
          await fitPuzzleRow(ort, s, {
            config: c, examples, init, steps: Math.max(...grid.steps), lr: rate,
            onProgress: (p) => { if (grid.steps.includes(p.step)) snaps.set(p.step, { row: Float32Array.from(p.row), loss: p.loss, seconds: (performance.now() - tFit) / 1000 }); },
          });
          for (const n of grid.steps) {
            const snap = snaps.get(n)!;
            const score = await solveTask(s, manifest, model, task, K, { variants, rows: snap.row });
            tune.push({ task: task.id, family: taskFamily(task.id).replace(/^heldout-/, ''), lr: rate, steps: n, pass2: score.pass2, loss: snap.loss, seconds: snap.seconds });
          }
          console.log(`[${i + 1}/${tasks.length}] ${task.id} lr ${rate}: ` + grid.steps.map((n) => { const r = tune.find((t) => t.task === task.id && t.lr === rate && t.steps === n)!; return `${n} steps pass@2 ${r.pass2} loss ${r.loss.toFixed(3)}`; }).join(', '));
        }
      }
      const lines = ['| lr \\ steps | ' + grid.steps.join(' | ') + ' |', '|---|' + grid.steps.map(() => '---:').join('|') + '|',
        ...grid.lrs.map((rate) => `| ${rate} | ` + grid.steps.map((n) => { const rs = tune.filter((t) => t.lr === rate && t.steps === n); return `${pct(mean(rs.map((t) => t.pass2)))} (loss ${mean(rs.map((t) => t.loss)).toFixed(3)}, ${mean(rs.map((t) => t.seconds)).toFixed(1)} s)`; }).join(' | ') + ' |')];
      const md = [`# Fitting steps × lr on held-out tasks — ${date}`, '', `Model \`${model}\`; ${tasks.length} tasks (${perFamily} per family), ${source}. ` +
        'Cells: pass@2 after fitting (mean last-step loss per demonstration, mean fitting seconds). Adam, onnxruntime-node, 1 thread; ' + machine + '.', '', ...lines, ''].join('\n');
      console.log(`\n${md}`);
      const base = freshBase(outDir, `${date}-fit-tune`);
      await writeFile(`${base}.json`, JSON.stringify({ date, model, source, machine, grid, results: tune }, null, 1));
      await writeFile(`${base}.md`, md);
      console.log(`wrote ${base}.{json,md}`);
      return 0;
    }

    const results: TaskResult[] = [];
    for (const [i, task] of tasks.entries()) {
      const family = taskFamily(task.id).replace(/^heldout-/, '');
      const blank = await solveTask(s, manifest, model, task, K);
      const variants = fitVariants(task.id, K);
      const examples = variantExamples(task, variants, c.grid_size).train;
      const tFit = performance.now();
      const { row, losses } = await fitPuzzleRow(ort, s, { config: c, examples, init, steps, ...(lr ? { lr } : {}) });
      const seconds = (performance.now() - tFit) / 1000;
      const fitted = await solveTask(s, manifest, model, task, K, { variants, rows: row });
      const full = withFull ? await fullMode(model, task, steps, threads, K, weightLr) : undefined;
      results.push({ task: task.id, family, demonstrations: task.train.length, tests: task.test.length, blank,
        fitted: { ...fitted, seconds, msPerStep: (1000 * seconds) / steps, lossFirst: losses[0], lossLast: losses[losses.length - 1] }, ...(full ? { full } : {}) });
      console.log(`[${i + 1}/${tasks.length}] ${task.id}: pass@2 blank ${blank.pass2} → fitted ${fitted.pass2}${full ? ` (full ${full.pass2})` : ''}; ` +
        `loss ${losses[0].toFixed(3)} → ${losses[losses.length - 1].toFixed(3)}, fit ${seconds.toFixed(1)} s (${((1000 * seconds) / steps).toFixed(0)} ms/step, ${task.train.length} demos × ${K} variants)`);
    }
    const totalSeconds = (performance.now() - t0) / 1000;
    const report = { date, model, source, steps, lr: lr ?? null, weightLr: weightLr ?? null, K, machine, seconds: totalSeconds, families, familySpec, demoScores, results };
    const md = markdown(report);
    console.log(`\n${md}`);
    const base = freshBase(outDir, `${date}-fit`);
    await writeFile(`${base}.json`, JSON.stringify(report, null, 1));
    await writeFile(`${base}.md`, md);
    console.log(`wrote ${base}.{json,md}`);
    return 0;
  } finally {
    await releaseFitSessions(s);
  }
}
