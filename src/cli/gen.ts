/**
 * `trm gen`: writes the app's built-in demo tasks (Kaggle combined form) and the
 * training set the demo model learns from (read by models/training/train.py).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_GRID_SIZE, DEMO_SEED, FAMILIES, HELD_OUT_SEED, TRAINING_SEED, demoSuite, heldOutSuite, trainingSuite } from '../arc/generators/index.ts';
import type { Grid } from '../arc/types.ts';
import { OptionsError } from '../convert/errors.ts';

export const TRAINING_FORMAT = 'trm-studio-training-tasks/1';

/** Training sets whose inputs held-out tasks must avoid, when present (runs/ is git-ignored); data8s trained the shipped model. */
export const DEFAULT_EXCLUDE = ['models/training/runs/data8s/tasks.json', 'models/training/runs/data/tasks.json', 'models/training/runs/data2/tasks.json'];

const USAGE = `usage: trm gen [--demo FILE] [--training FILE] [--held-out FILE] [--per-family N] [--grid-size N] [--mixed-sizes] [--seed N]
  --demo FILE        demo suite, {id: {train, test}} (default src/arc/demo/demo-tasks.json)
  --training FILE    training set for models/training (default models/training/runs/data/tasks.json)
  --held-out FILE    new tasks never trained on (heldout-<family>-<n>), for measuring fitting: a Kaggle
                     challenges FILE (test outputs removed) and FILE-solutions.json beside it
  --exclude FILE     training set (trm gen --training) whose inputs held-out tasks must avoid; repeatable
                     (default: ${DEFAULT_EXCLUDE.join(', ')}, those present); demo inputs are always avoided
  --per-family N     tasks per family (default 80 for --training, 2 for --held-out)
  --grid-size N      canvas side every grid must fit (default ${DEFAULT_GRID_SIZE})
  --mixed-sizes      inputs of one task may differ in size (default: one size per task, as most ARC tasks)
  --seed N           training-set seed (default ${TRAINING_SEED}), or held-out seed (default ${HELD_OUT_SEED});
                     the demo suite always uses ${DEMO_SEED}
With none of --demo, --training, --held-out, the demo and training defaults are written.`;

/** FILE.json → FILE-solutions.json (Kaggle's naming: arc-agi_evaluation_challenges / _solutions). */
export function solutionsPath(file: string): string {
  return file.replace(/(\.json)?$/, '-solutions.json');
}

/** Every input grid of a `trm gen --training` file, refusing anything else with the file named. */
export function trainingInputs(file: string): Grid[] {
  let data: { format?: string; tasks?: { train: { input: Grid }[]; test: { input: Grid }[] }[] };
  try { data = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new OptionsError(`--exclude ${file}: ${(e as Error).message}`); }
  if (data.format !== TRAINING_FORMAT || !Array.isArray(data.tasks)) throw new OptionsError(`--exclude ${file}: format is ${JSON.stringify(data.format)}, expected "${TRAINING_FORMAT}"`);
  return data.tasks.flatMap((t) => [...t.train, ...t.test].map((p) => p.input));
}

/** JSON with every grid row on one line: diff-friendly and readable as a picture. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2).replace(/\[\s+([\d,\s]+?)\s+\]/g, (_, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`)}\n`;
}

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`trm gen: ${flag} must be a positive integer, got "${value}"`);
  return n;
}

function write(file: string, text: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, text);
}

export async function runGen(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      demo: { type: 'string' },
      training: { type: 'string' },
      'per-family': { type: 'string' },
      'grid-size': { type: 'string' },
      'mixed-sizes': { type: 'boolean' },
      seed: { type: 'string' },
      'held-out': { type: 'string' },
      exclude: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const gridSize = positiveInt(values['grid-size'], '--grid-size', DEFAULT_GRID_SIZE);
  const sameSize = !values['mixed-sizes'];
  const heldOutFile = values['held-out'];
  const onlyHeldOut = heldOutFile !== undefined && values.training === undefined;
  const perFamily = positiveInt(values['per-family'], '--per-family', onlyHeldOut ? 2 : 80);
  const seed = positiveInt(values.seed, '--seed', onlyHeldOut ? HELD_OUT_SEED : TRAINING_SEED);
  if (heldOutFile !== undefined && values.training !== undefined && values.seed !== undefined) {
    throw new OptionsError('--seed with both --training and --held-out is ambiguous; write them in two runs');
  }
  const both = values.demo === undefined && values.training === undefined && heldOutFile === undefined;
  const demoFile = values.demo ?? (both ? 'src/arc/demo/demo-tasks.json' : undefined);
  const trainingFile = values.training ?? (both ? 'models/training/runs/data/tasks.json' : undefined);

  const demo = demoSuite({ gridSize, sameSize });
  if (demoFile) {
    write(demoFile, formatJson(Object.fromEntries(demo.map(({ task }) => [task.id, { train: task.train, test: task.test }]))));
    console.log(`trm gen: ${demo.length} demo tasks (${FAMILIES.length} families) → ${demoFile}`);
  }
  if (trainingFile) {
    const generated = trainingSuite({ gridSize, sameSize, seed, perFamily, heldOut: demo.map((d) => d.task) });
    // Demo tasks go in whole; train.py learns from their demonstrations only and scores their tests.
    const tasks = [
      ...demo.map(({ family, task }) => ({ id: task.id, family, demo: true, train: task.train, test: task.test })),
      ...generated.map(({ family, task }) => ({ id: task.id, family, demo: false, train: task.train, test: task.test })),
    ];
    const data = { format: TRAINING_FORMAT, grid_size: gridSize, seed, families: FAMILIES.map((f) => f.name), tasks };
    write(trainingFile, `${JSON.stringify(data)}\n`);
    console.log(`trm gen: ${tasks.length} training tasks (${generated.length} generated + ${demo.length} demo) → ${trainingFile}`);
  }
  if (heldOutFile !== undefined) {
    const excludeFiles = values.exclude ?? DEFAULT_EXCLUDE.filter((f) => existsSync(f));
    if (trainingFile && !excludeFiles.includes(trainingFile)) excludeFiles.push(trainingFile);
    const exclude = [...demo.flatMap(({ task }) => [...task.train, ...task.test].map((p) => p.input)), ...excludeFiles.flatMap(trainingInputs)];
    const held = heldOutSuite({ gridSize, sameSize, seed: onlyHeldOut ? seed : HELD_OUT_SEED, perFamily, exclude });
    const challenges = Object.fromEntries(held.map(({ task }) => [task.id, { train: task.train, test: task.test.map((t) => ({ input: t.input })) }]));
    const solutions = Object.fromEntries(held.map(({ task }) => [task.id, task.test.map((t) => t.output)]));
    write(heldOutFile, formatJson(challenges));
    write(solutionsPath(heldOutFile), formatJson(solutions));
    console.log(`trm gen: ${held.length} held-out tasks (${perFamily} per family, seed ${onlyHeldOut ? seed : HELD_OUT_SEED}) → ${heldOutFile} + ${solutionsPath(heldOutFile)}; ` +
      `no input repeats the demo tasks${excludeFiles.length ? ` or ${excludeFiles.join(', ')}` : ' (no training set found to check against: pass --exclude)'}`);
  }
  return 0;
}
