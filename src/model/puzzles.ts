/**
 * Which augmented variants of a task run, and with which puzzle-embedding rows:
 *  1. the task's own rows file (the converter sliced its trained variants), else
 *  2. the whole table, when its identifiers name the task's variants, else
 *  3. the blank (all-zero) row with freshly drawn augmentations: the honest "no trained
 *     embedding" case (upstream reports ~0% there, trm-reference §8).
 * The original (identity) variant always comes first.
 */
import { augmentationsForTask, formatVariantName, IDENTITY_PERM, parseVariantName } from '../arc/augment.ts';
import type { Task } from '../arc/types.ts';
import { ModelMismatchError } from '../engine/errors.ts';
import type { RowSource, VariantInfo } from '../engine/protocol.ts';
import type { Manifest } from './manifest.ts';

export interface VariantPlan {
  source: RowSource;
  variants: VariantInfo[];
  /** The file the rows are read from (rows file or table); none for blank. */
  file?: string;
}

const isIdentity = (v: { tid: number; perm: readonly number[] }) => v.tid === 0 && v.perm.every((c, i) => c === IDENTITY_PERM[i]);

const originalFirst = (vs: VariantInfo[]) => [...vs.filter(isIdentity), ...vs.filter((v) => !isIdentity(v))];

export function planVariants(manifest: Manifest, task: Task, maxVariants: number): VariantPlan {
  if (!Number.isInteger(maxVariants) || maxVariants < 1) throw new RangeError(`maxVariants ${maxVariants} must be a positive integer`);
  const own = manifest.puzzles.tasks[task.id];
  if (own) {
    const variants = originalFirst(own.variants.map((v) => ({ ...v, source: 'task' as const })));
    return { source: 'task', variants: variants.slice(0, maxVariants), file: own.path };
  }
  const table = manifest.puzzles.table;
  if (table?.identifiers) {
    const variants: VariantInfo[] = [];
    table.identifiers.forEach((name, row) => {
      if (row === 0 || !(name === task.id || name.startsWith(`${task.id}|||`))) return;
      const { aug } = parseVariantName(name);
      variants.push({ name, tid: aug.tid, perm: [...aug.perm], row, source: 'table' });
    });
    if (variants.length > 0) return { source: 'table', variants: originalFirst(variants).slice(0, maxVariants), file: table.path };
  }
  const variants = augmentationsForTask(task, maxVariants).map((aug) => ({
    name: formatVariantName(task.id, aug), tid: aug.tid, perm: [...aug.perm], row: -1, source: 'blank' as const,
  }));
  return { source: 'blank', variants };
}

/** float32 [variants, puzzle_emb_ndim] for the plan; `rowsFile` is the plan's file (none for blank). */
export function puzzleRows(manifest: Manifest, plan: VariantPlan, rowsFile?: Uint8Array): Float32Array {
  const ndim = manifest.config.puzzle_emb_ndim;
  const out = new Float32Array(plan.variants.length * ndim);
  if (plan.source === 'blank') return out;
  if (!rowsFile) throw new ModelMismatchError(`rows file ${plan.file} was not provided`, { file: plan.file });
  const rowBytes = ndim * 4;
  const available = Math.floor(rowsFile.byteLength / rowBytes);
  plan.variants.forEach((v, i) => {
    if (v.row < 0 || v.row >= available) {
      throw new ModelMismatchError(`${plan.file}: variant ${v.name} uses row ${v.row}, the file has ${available} rows of ${ndim}`, { file: plan.file, row: v.row });
    }
    // Copy through a fresh buffer: the file's byte offset need not be 4-aligned.
    const start = rowsFile.byteOffset + v.row * rowBytes;
    out.set(new Float32Array(rowsFile.buffer.slice(start, start + rowBytes)), i * ndim);
  });
  return out;
}

/** Plan plus rows in one go; `readFile` reads a model-directory file (verified cache, disk…). */
export async function loadVariants(
  manifest: Manifest, task: Task, maxVariants: number, readFile: (path: string) => Promise<Uint8Array>,
): Promise<{ plan: VariantPlan; puzzle: Float32Array }> {
  const plan = planVariants(manifest, task, maxVariants);
  return { plan, puzzle: puzzleRows(manifest, plan, plan.file ? await readFile(plan.file) : undefined) };
}
