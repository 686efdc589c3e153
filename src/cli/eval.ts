/**
 * `trm eval --model DIR --tasks PATH`: headless evaluation with the engine the app runs
 * (solveTestInput over onnxruntime-node), scored and voted as upstream's evaluator does.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatLoadError, parseSources, type SourceText } from '../arc/parse.ts';
import { DEFAULT_KS, scoreTask, summariseScores, type TaskScore } from '../arc/score.ts';
import { buildSubmission, validateSubmission } from '../arc/submission.ts';
import type { Attempts, Grid, Task } from '../arc/types.ts';
import { gridHash, vote, type Candidate } from '../arc/vote.ts';
import { OptionsError } from '../convert/errors.ts';
import { ModelMismatchError } from '../engine/errors.ts';
import { loadModelDir, readManifest } from '../engine/node-runtime.ts';
import { ModelFileError, releaseSessions } from '../engine/sessions.ts';
import { solveTestInput } from '../engine/solve.ts';
import * as ort from 'onnxruntime-node';
import type { NamedWeight } from '../convert/graphs.ts';
import type { TrmSessions } from '../engine/recursion.ts';
import { modelWeights, openTunedSessions, tunedWeights } from '../fit/fit-full.ts';
import { readOverlay, readOverlayWeights } from '../fit/node-overlay.ts';
import { OverlayError, type Overlay } from '../fit/overlay.ts';
import { PRECISIONS, type Manifest, type Precision } from '../model/manifest.ts';
import { loadVariants } from '../model/puzzles.ts';
import { positiveInt } from './convert.ts';
import { readTaskSources } from './fit.ts';
import { progressBar } from './progress.ts';

export const EVAL_USAGE = `usage: trm eval --model <dir> --tasks <file|dir> [options]
  Solves every test input with the app's engine (onnxruntime-node), votes the variants as
  upstream does and prints pass@1 / pass@2 / pass@K overall, per family and per task, and
  attempt_1 exact matches after each ACT step.
  --model DIR          converted model directory
  --tasks PATH         a task .json, a challenges file {id: task}, or a directory of task files
  --solutions FILE     Kaggle solutions file {id: [grid, …]} (else the tasks' own test outputs)
  --variants K         augmented variants per test input, voted (default 8)
  --steps N            ACT steps (default: the model's halt_max_steps)
  --precision P        block graph precision: fp32 (default), fp16, q8, q4
  --overlay DIR        fitted puzzle rows from trm fit (overlay.json), used for their tasks; a task
                       fitted with --mode full runs on its own fine-tuned weights (fp32)
  --out FILE           write a Kaggle submission.json
  --threads N          onnxruntime intra-op threads (default 1)`;

/** Tasks are grouped by their id without a trailing -<n> (demo-flip-1 → demo-flip). */
export const taskFamily = (id: string) => id.replace(/-\d+$/, '');

export async function runEval(args: string[]): Promise<number> {
  try {
    return await evaluate(args);
  } catch (e) {
    // Models without the asked precision, foreign overlays, rows missing: one clear line from main.
    if (e instanceof ModelFileError || e instanceof OverlayError || e instanceof ModelMismatchError) throw new OptionsError(e.message);
    throw e;
  }
}

/** Why a task cannot run on this model, or undefined when every test input fits the canvas. */
function oversized(task: Task, gridSize: number): string | undefined {
  for (const [i, t] of task.test.entries()) {
    const rows = t.input.length, cols = t.input[0].length;
    if (rows > gridSize || cols > gridSize) return `${task.id}: test[${i}].input is ${rows}×${cols}, larger than the model's ${gridSize}×${gridSize} canvas`;
  }
  return undefined;
}

/** The model's task rows plus the overlay's (overlay paths made absolute so one reader serves both). */
async function withOverlay(manifest: Manifest, dir: string | undefined): Promise<{ manifest: Manifest; overlay?: Overlay }> {
  if (!dir) return { manifest };
  const overlay = await readOverlay(dir, manifest.name);
  if (!overlay) throw new OptionsError(`--overlay ${dir}: no overlay.json there (write one with trm fit)`);
  const fitted = Object.fromEntries(Object.entries(overlay.tasks).map(([id, t]) => [id, { ...t, path: join(dir, t.path) }]));
  return { manifest: { ...manifest, puzzles: { ...manifest.puzzles, tasks: { ...manifest.puzzles.tasks, ...fitted } } }, overlay };
}

const fmt = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));
const pad = (cells: string[], widths: number[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [pad(head, widths), ...rows.map((r) => pad(r, widths))].join('\n');
}

async function evaluate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, tasks: { type: 'string' }, solutions: { type: 'string' }, variants: { type: 'string' },
      out: { type: 'string' }, steps: { type: 'string' }, precision: { type: 'string' }, overlay: { type: 'string' },
      threads: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(EVAL_USAGE); return 0; }
  if (!values.model || !values.tasks) throw new OptionsError(`expected --model and --tasks\n${EVAL_USAGE}`);
  const K = positiveInt(values.variants, '--variants', 8);
  const threads = positiveInt(values.threads, '--threads', 1);
  const precision = (values.precision ?? 'fp32') as Precision;
  if (!PRECISIONS.includes(precision)) throw new OptionsError(`--precision must be one of ${PRECISIONS.join(', ')}, got "${values.precision}"`);

  const sources: SourceText[] = await readTaskSources(values.tasks);
  if (values.solutions) {
    const file = values.solutions;
    sources.push({ name: file, text: await readFile(file, 'utf8').catch(() => { throw new OptionsError(`--solutions ${file}: cannot read the file`); }) });
  }
  const loaded = parseSources(sources);
  if (loaded.errors.length) throw new OptionsError(loaded.errors.map(formatLoadError).join('\n'));
  const tasks = loaded.tasks;
  if (!tasks.length) throw new OptionsError(`--tasks ${values.tasks}: no tasks found`);

  const { manifest, overlay } = await withOverlay(await readManifest(values.model), values.overlay);
  const c = manifest.config;
  const steps = positiveInt(values.steps, '--steps', c.halt_max_steps);
  // Oversized tasks are reported and count as wrong; with nothing left to run it is an input error.
  const tooLarge = new Map(tasks.flatMap((t) => { const why = oversized(t, c.grid_size); return why ? [[t.id, why] as const] : []; }));
  if (tooLarge.size === tasks.length) throw new OptionsError([...tooLarge.values()].join('\n'));
  for (const why of tooLarge.values()) console.error(`${why}: counted as wrong`);

  const ks = [...new Set([...DEFAULT_KS, K])].sort((a, b) => a - b);
  const runnable = tasks.filter((t) => !tooLarge.has(t.id));
  const totalInputs = runnable.reduce((n, t) => n + t.test.length, 0);
  const readModelFile = async (p: string) => new Uint8Array(await readFile(isAbsolute(p) ? p : join(values.model!, p)));
  const model = await loadModelDir(values.model, precision, threads);
  const bar = progressBar();
  const t0 = performance.now();

  const attempts = new Map<string, Attempts>();
  const scores: (TaskScore | undefined)[] = [];
  const taskRows: string[][] = [];
  // Per ACT step: scored test inputs whose attempt_1 (resp. top two) equals the solution.
  const stepAt1 = new Array<number>(steps).fill(0), stepAt2 = new Array<number>(steps).fill(0);
  let scoredInputs = 0, done = 0;
  let baseWeights: NamedWeight[] | undefined;
  const tunedTasks = Object.keys(overlay?.weights ?? {}).filter((id) => runnable.some((t) => t.id === id));
  if (tunedTasks.length && precision !== 'fp32') console.error(`${tunedTasks.length} task(s) with fine-tuned weights run fp32 (their graphs are built at run time in fp32 only)`);
  try {
    for (const task of tasks) {
      if (tooLarge.has(task.id)) {
        const score = scoreTask(task, [], ks);
        scores.push(score);
        taskRows.push([task.id, String(task.test.length), '0', 'too large', ...ks.map((k) => fmt(score?.passAt[k])), '-', '-']);
        continue;
      }
      const { plan, puzzle } = await loadVariants(manifest, task, K, readModelFile);
      // A task fitted in whole-network mode runs on its own weights: fp32 sessions built for it, kept for all its test inputs.
      const fittedWeights = overlay && values.overlay ? await readOverlayWeights(values.overlay, overlay, task.id) : undefined;
      let sessions = model.sessions, tuned: TrmSessions | undefined;
      if (fittedWeights) {
        baseWeights ??= await modelWeights(manifest, readModelFile);
        tuned = sessions = await openTunedSessions(ort, c, tunedWeights(c, baseWeights, fittedWeights),
          { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 });
      }
      const candidates: Candidate[][] = [];
      const halts: number[] = [];
      const tTask = performance.now();
      try {
        for (const [i, test] of task.test.entries()) {
          const want = test.output ? gridHash(test.output) : undefined;
          if (want) scoredInputs++;
          const result = await solveTestInput(model.ort, sessions, {
            config: c, taskId: task.id, testIndex: i, input: test.input, variants: plan.variants, puzzle, steps,
            backend: { backend: 'wasm', precision, reason: 'onnxruntime-node (trm eval)', forced: true },
            onFrame: (f) => {
              if (f.h !== c.H_cycles - 1) return;
              bar.update({ phase: `evaluating ${task.id}`, done: done * steps + f.act + 1, total: totalInputs * steps });
              if (!want) return;
              const ranked = vote(f.grids.map((grid: Grid, j) => ({ grid, qHalt: f.qHalt[j] })));
              if (ranked[0]?.hash === want) stepAt1[f.act]++;
              if (ranked.slice(0, 2).some((r) => r.hash === want)) stepAt2[f.act]++;
            },
          });
          done++;
          candidates.push(result.candidates);
          attempts.set(`${task.id}#${i}`, result.attempts);
          halts.push(result.haltStep.filter((s) => s >= 0).length);
        }
      } finally {
        if (tuned) await releaseSessions(tuned);
      }
      const score = scoreTask(task, candidates, ks);
      scores.push(score);
      const secs = (performance.now() - tTask) / 1000;
      taskRows.push([task.id, String(task.test.length), String(plan.variants.length), fittedWeights ? `${plan.source} + fine-tuned weights` : plan.source,
        ...ks.map((k) => fmt(score?.passAt[k])), halts.map((h) => `${h}/${plan.variants.length}`).join(' '), secs.toFixed(1)]);
    }
  } finally {
    bar.done();
    await releaseSessions(model.sessions);
  }
  const seconds = (performance.now() - t0) / 1000;

  const passHead = ks.map((k) => `pass@${k}`);
  console.log(table(['task', 'tests', 'variants', 'rows', ...passHead, 'halted', 'seconds'], taskRows));

  const families = new Map<string, (TaskScore | undefined)[]>();
  tasks.forEach((t, i) => families.set(taskFamily(t.id), [...(families.get(taskFamily(t.id)) ?? []), scores[i]]));
  const familyRows = [...families].map(([name, s]) => {
    const sum = summariseScores(s, ks);
    return [name, `${sum.scored}/${sum.tasks}`, ...ks.map((k) => (sum.scored ? fmt(sum.passAt[k]) : '-'))];
  });
  console.log(`\n${table(['family', 'scored', ...passHead], familyRows)}`);

  if (scoredInputs) {
    const stepRows = stepAt1.map((n, s) => [String(s + 1), `${n}/${scoredInputs}`, `${stepAt2[s]}/${scoredInputs}`]);
    console.log(`\nexact matches per ACT step (test inputs of the tasks run):\n${table(['ACT step', 'attempt_1', 'top 2'], stepRows)}`);
  }

  const overall = summariseScores(scores, ks);
  console.log(`\noverall (${overall.scored} of ${overall.tasks} tasks scored, up to ${K} variants, ${steps} ACT steps, ${precision}, ${seconds.toFixed(1)} s): ` +
    ks.map((k) => `pass@${k} ${fmt(overall.passAt[k])}`).join('  '));
  if (!overall.scored) console.log('no solutions known: give --solutions, or tasks with test outputs, to score');

  if (values.out) {
    const { submission, placeholders } = buildSubmission(tasks, (id, i) => attempts.get(`${id}#${i}`));
    const problems = validateSubmission(submission, tasks);
    if (problems.length) throw new Error(`built an invalid submission (a bug): ${problems.join('; ')}`);
    await writeFile(values.out, JSON.stringify(submission));
    console.log(`wrote ${values.out} (${tasks.length} task(s)${placeholders.length ? `, ${placeholders.length} placeholder attempt(s)` : ''})`);
  }
  return 0;
}
