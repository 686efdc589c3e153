/**
 * `trm gen`: writes the app's built-in demo tasks (Kaggle combined form) and the
 * training set the demo model learns from (read by models/training/train.py).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_GRID_SIZE, DEMO_SEED, FAMILIES, TRAINING_SEED, demoSuite, trainingSuite } from '../arc/generators/index.ts';

export const TRAINING_FORMAT = 'trm-studio-training-tasks/1';

const USAGE = `usage: trm gen [--demo FILE] [--training FILE] [--per-family N] [--grid-size N] [--seed N]
  --demo FILE        demo suite, {id: {train, test}} (default src/arc/demo/demo-tasks.json)
  --training FILE    training set for models/training (default models/training/runs/data/tasks.json)
  --per-family N     generated training tasks per family (default 80)
  --grid-size N      canvas side every grid must fit (default ${DEFAULT_GRID_SIZE})
  --seed N           training-set seed (default ${TRAINING_SEED}; the demo suite always uses ${DEMO_SEED})
With neither --demo nor --training, both defaults are written.`;

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
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const gridSize = positiveInt(values['grid-size'], '--grid-size', DEFAULT_GRID_SIZE);
  const perFamily = positiveInt(values['per-family'], '--per-family', 80);
  const seed = positiveInt(values.seed, '--seed', TRAINING_SEED);
  const both = values.demo === undefined && values.training === undefined;
  const demoFile = values.demo ?? (both ? 'src/arc/demo/demo-tasks.json' : undefined);
  const trainingFile = values.training ?? (both ? 'models/training/runs/data/tasks.json' : undefined);

  const demo = demoSuite({ gridSize });
  if (demoFile) {
    write(demoFile, formatJson(Object.fromEntries(demo.map(({ task }) => [task.id, { train: task.train, test: task.test }]))));
    console.log(`trm gen: ${demo.length} demo tasks (${FAMILIES.length} families) → ${demoFile}`);
  }
  if (trainingFile) {
    const generated = trainingSuite({ gridSize, seed, perFamily, heldOut: demo.map((d) => d.task) });
    // Demo tasks go in whole; train.py learns from their demonstrations only and scores their tests.
    const tasks = [
      ...demo.map(({ family, task }) => ({ id: task.id, family, demo: true, train: task.train, test: task.test })),
      ...generated.map(({ family, task }) => ({ id: task.id, family, demo: false, train: task.train, test: task.test })),
    ];
    const data = { format: TRAINING_FORMAT, grid_size: gridSize, seed, families: FAMILIES.map((f) => f.name), tasks };
    write(trainingFile, `${JSON.stringify(data)}\n`);
    console.log(`trm gen: ${tasks.length} training tasks (${generated.length} generated + ${demo.length} demo) → ${trainingFile}`);
  }
  return 0;
}
