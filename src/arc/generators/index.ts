/**
 * The project's own ARC-style task suite: 14 procedural families, the app's
 * built-in demo tasks (`demo-<family>-<n>`) and the larger generated set the
 * demo model is trained on. Every task is a pure function of (seed, family, n).
 */
import { fnv1a } from '../hash.ts';
import type { Grid, Task } from '../types.ts';
import { border, countBar, recolor } from './colour.ts';
import { type Family, generateTask } from './family.ts';
import { flip, rotate, scale, tile, translate } from './geometry.ts';
import { connect, denoise, extendLines, fillEnclosed, gravity, symmetry } from './objects.ts';
import { Rng } from './rng.ts';

export { type Family, generateTask } from './family.ts';
export { Rng } from './rng.ts';

export const FAMILIES: readonly Family[] = [
  recolor,
  flip,
  rotate,
  gravity,
  fillEnclosed,
  extendLines,
  translate,
  scale,
  denoise,
  countBar,
  symmetry,
  border,
  tile,
  connect,
];

/** Canvas side of the demo model: every generated grid fits in it. */
export const DEFAULT_GRID_SIZE = 8;
export const DEMO_SEED = 2026;
export const TRAINING_SEED = 1;

/** FNV-1a of the task's coordinates, so adding a family or a task never reshuffles the others. */
function taskSeed(seed: number, family: string, n: number): number {
  return fnv1a(`${seed}:${family}:${n}`);
}

export interface SuiteOptions {
  gridSize?: number;
  /**
   * Every task keeps one input size across its pairs (TaskOptions.sameSize; default true). Measured on
   * the demo model's training: with it, the position-remapping families (flip, rotate...) start to be
   * learned; with sizes changing between pairs they were not (see models/training/README.md).
   */
  sameSize?: boolean;
  seed?: number;
  perFamily?: number;
}

export interface FamilyTask {
  family: string;
  task: Task;
}

/** Tasks of one family drawn with distinct parameters where the family has enough of them. */
function familyTasks(family: Family, prefix: string, seed: number, count: number, gridSize: number, sameSize = false): Task[] {
  const used = new Set<string>();
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const rng = new Rng(taskSeed(seed, family.name, n));
    let params = family.sampleParams(rng);
    for (let k = 0; k < 20 && used.has(JSON.stringify(params)); k++) params = family.sampleParams(rng);
    used.add(JSON.stringify(params));
    return generateTask(family, rng, { id: `${prefix}-${family.name}-${n}`, maxSide: gridSize, params, sameSize }).task;
  });
}

/** The app's built-in tasks: `perFamily` (default 2) per family. */
export function demoSuite(opts: SuiteOptions = {}): FamilyTask[] {
  const { gridSize = DEFAULT_GRID_SIZE, seed = DEMO_SEED, perFamily = 2, sameSize = true } = opts;
  return FAMILIES.flatMap((family) =>
    familyTasks(family, 'demo', seed, perFamily, gridSize, sameSize).map((task) => ({ family: family.name, task: { ...task, source: 'demo' } })),
  );
}

const gridKey = (g: Grid) => JSON.stringify(g);

/**
 * Many more tasks per family for training (`gen-<family>-<n>`). Tasks that show any
 * grid of a held-out test input are dropped, so held-out tests stay unseen.
 */
export function trainingSuite(opts: SuiteOptions & { heldOut?: readonly Task[] } = {}): FamilyTask[] {
  const { gridSize = DEFAULT_GRID_SIZE, seed = TRAINING_SEED, perFamily = 80, heldOut = [], sameSize = true } = opts;
  const hidden = new Set(heldOut.flatMap((t) => t.test.map((p) => gridKey(p.input))));
  return FAMILIES.flatMap((family) =>
    familyTasks(family, 'gen', seed, perFamily, gridSize, sameSize)
      .filter((task) => ![...task.train, ...task.test].some((p) => hidden.has(gridKey(p.input))))
      .map((task) => ({ family: family.name, task })),
  );
}

/** Seed of the held-out evaluation tasks: neither the training seed nor the demo seed. */
export const HELD_OUT_SEED = 9;

/**
 * New tasks of every family for measuring test-time fitting (`heldout-<family>-<n>`): fresh
 * parameter draws and grids from their own seed. A task is skipped when any of its inputs
 * (demonstration or test) is one of `exclude` (every input the model was trained on, and the
 * demo tasks'), so no held-out grid was ever seen; numbering continues until `perFamily` are found.
 */
export function heldOutSuite(opts: SuiteOptions & { exclude?: Iterable<Grid> } = {}): FamilyTask[] {
  const { gridSize = DEFAULT_GRID_SIZE, seed = HELD_OUT_SEED, perFamily = 2, sameSize = true } = opts;
  const seen = new Set([...(opts.exclude ?? [])].map(gridKey));
  return FAMILIES.flatMap((family) => {
    // Draw a generous batch in one go (familyTasks keeps parameters distinct within it).
    for (let count = perFamily * 2; ; count *= 2) {
      const fresh = familyTasks(family, 'heldout', seed, count, gridSize, sameSize)
        .filter((task) => ![...task.train, ...task.test].some((p) => seen.has(gridKey(p.input))));
      if (fresh.length >= perFamily) return fresh.slice(0, perFamily).map((task) => ({ family: family.name, task: { ...task, source: 'heldout' } }));
      if (count > 64 * perFamily + 64) throw new Error(`family ${family.name}: only ${fresh.length} of ${count} held-out tasks avoid the excluded inputs`);
    }
  });
}
