/**
 * Upstream's augmentation (build_arc_dataset.py, dataset/common.py): a colour mapping that keeps
 * colour 0 fixed, then one of 8 dihedral transforms; and the inverse the evaluator applies to
 * predictions before voting. Variant names follow upstream: `{task}|||t{tid}|||{10 mapping digits}`.
 */
import { fnv1a } from './hash.ts';
import { Rng } from './generators/rng.ts';
import type { Grid, Task } from './types.ts';
import { gridHash } from './vote.ts';

/** What a Variant (model/manifest.ts) carries about its transform. */
export interface Augmentation {
  /** Dihedral transform id 0..7. */
  tid: number;
  /** augmented colour = perm[original colour]; a permutation of 0..9. */
  perm: readonly number[];
}

export const IDENTITY_PERM: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
export const IDENTITY: Augmentation = Object.freeze({ tid: 0, perm: IDENTITY_PERM });
/** DIHEDRAL_INVERSE[t] undoes transform t (rot90 ⇄ rot270, the rest are involutions). */
export const DIHEDRAL_INVERSE: readonly number[] = Object.freeze([0, 3, 2, 1, 4, 5, 6, 7]);
const VARIANT_SEPARATOR = '|||';

/**
 * Transform `tid` of an H×W array, written as out[i][j] (numpy: rot90 k=1..3, fliplr, flipud, .T,
 * fliplr∘rot90). Generic over the cell type so confidences can follow their grid.
 */
export function dihedral<T>(a: readonly (readonly T[])[], tid: number): T[][] {
  const H = a.length;
  const W = H > 0 ? a[0].length : 0;
  const make = (rows: number, cols: number, f: (i: number, j: number) => T): T[][] =>
    Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => f(i, j)));
  switch (tid) {
    case 0: return make(H, W, (i, j) => a[i][j]);
    case 1: return make(W, H, (i, j) => a[j][W - 1 - i]);
    case 2: return make(H, W, (i, j) => a[H - 1 - i][W - 1 - j]);
    case 3: return make(W, H, (i, j) => a[H - 1 - j][i]);
    case 4: return make(H, W, (i, j) => a[i][W - 1 - j]);
    case 5: return make(H, W, (i, j) => a[H - 1 - i][j]);
    case 6: return make(W, H, (i, j) => a[j][i]);
    case 7: return make(W, H, (i, j) => a[H - 1 - j][W - 1 - i]);
    default: throw new RangeError(`dihedral transform id ${tid} is not one of 0..7`);
  }
}

export function mapColours(grid: Grid, perm: readonly number[]): Grid {
  return grid.map((row) => row.map((c) => perm[c]));
}

export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((to, from) => { inv[to] = from; });
  return inv;
}

/** Forward, as upstream: colours first, then geometry. */
export function augmentGrid(grid: Grid, aug: Augmentation): Grid {
  return dihedral(mapColours(grid, aug.perm), aug.tid);
}

/** Inverse, as upstream's inverse_aug: geometry undone first, then colours. */
export function inverseAugmentGrid(grid: Grid, aug: Augmentation): Grid {
  return mapColours(dihedral(grid, DIHEDRAL_INVERSE[aug.tid]), invertPerm(aug.perm));
}

function checkPerm(perm: readonly number[], where: string): void {
  const seen = new Set(perm);
  if (perm.length !== 10 || seen.size !== 10 || perm.some((c) => !Number.isInteger(c) || c < 0 || c > 9)) {
    throw new RangeError(`${where}: colour mapping [${perm.join(',')}] is not a permutation of 0..9`);
  }
}

export function formatVariantName(taskId: string, aug: Augmentation): string {
  checkPerm(aug.perm, `variant of ${taskId}`);
  if (!Number.isInteger(aug.tid) || aug.tid < 0 || aug.tid > 7) throw new RangeError(`variant of ${taskId}: tid ${aug.tid} is not one of 0..7`);
  return [taskId, `t${aug.tid}`, aug.perm.join('')].join(VARIANT_SEPARATOR);
}

/** A bare id is the original task (identity); otherwise `id|||tN|||dddddddddd`. */
export function parseVariantName(name: string): { taskId: string; aug: Augmentation } {
  const parts = name.split(VARIANT_SEPARATOR);
  if (parts.length === 1) return { taskId: name, aug: IDENTITY };
  const [taskId, t, digits] = parts;
  if (parts.length !== 3 || !/^t[0-7]$/.test(t) || !/^\d{10}$/.test(digits)) {
    throw new RangeError(`variant name "${name}" is not "<task>|||t<0-7>|||<10 digits>"`);
  }
  const perm = [...digits].map(Number);
  checkPerm(perm, `variant name "${name}"`);
  return { taskId, aug: { tid: Number(t.slice(1)), perm } };
}

/** Order-free key of the augmented task's visible content (train pairs and test inputs), as upstream dedups by sorted pair hashes. */
function taskContentKey(task: Task, aug: Augmentation): string {
  const pairs = [
    ...task.train.map((p) => `${gridHash(augmentGrid(p.input, aug))}>${gridHash(augmentGrid(p.output, aug))}`),
    ...task.test.map((t) => `${gridHash(augmentGrid(t.input, aug))}>?`),
  ];
  return pairs.sort().join('|');
}

/**
 * Up to `count` augmentations whose augmented tasks all differ, the identity first, drawn like
 * upstream (tid uniform in 0..7, colours 1..9 shuffled, 0 fixed) from a generator seeded by the
 * task id and `seed`, so a run is reproducible. Like upstream, gives up after 5·count draws, so a
 * symmetric task can yield fewer.
 */
export function augmentationsForTask(task: Task, count: number, seed = 0): Augmentation[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`augmentation count ${count} must be a positive integer`);
  const rng = new Rng(fnv1a(`${task.id}:${seed}`));
  const chosen: Augmentation[] = [IDENTITY];
  const seen = new Set([taskContentKey(task, IDENTITY)]);
  for (let trial = 0; trial < 5 * count && chosen.length < count; trial++) {
    const aug = { tid: rng.int(0, 7), perm: [0, ...rng.shuffle([1, 2, 3, 4, 5, 6, 7, 8, 9])] };
    const key = taskContentKey(task, aug);
    if (seen.has(key)) continue;
    seen.add(key);
    chosen.push(aug);
  }
  return chosen;
}
