/**
 * Which augmented variants of a task run, and with which puzzle-embedding rows:
 *  1. the task's own rows file (the converter sliced its trained variants), else
 *  2. the whole table, when its identifiers name the task's variants, else
 *  0. rows fitted for the task in this session (fit(), SolveRequest.fitted), before all else;
 *  3. the blank (all-zero) row with freshly drawn augmentations: the honest "no trained
 *     embedding" case (upstream reports ~0% there, trm-reference §8).
 * The original (identity) variant always comes first.
 */
import { augmentationsForTask, formatVariantName, IDENTITY_PERM, parseVariantName } from '../arc/augment.ts';
import type { Task } from '../arc/types.ts';
import { InvalidRequestError, ModelMismatchError } from '../engine/errors.ts';
import type { RowSource, VariantInfo } from '../engine/protocol.ts';
import type { Manifest, Variant } from './manifest.ts';

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

/**
 * Fitted rows (SolveRequest.fitted) checked against the model, the original variant first,
 * at most maxVariants: float32 [variants, puzzle_emb_ndim] or InvalidRequestError naming the field.
 */
export function fittedVariants(
  manifest: Manifest, fitted: { variants: Variant[]; rows: Float32Array }, maxVariants: number,
): { plan: VariantPlan; puzzle: Float32Array } {
  if (!Number.isInteger(maxVariants) || maxVariants < 1) throw new RangeError(`maxVariants ${maxVariants} must be a positive integer`);
  const W = manifest.config.puzzle_emb_ndim;
  const bad = (what: string, field: string) => { throw new InvalidRequestError(`fitted rows: ${what}`, { field: `fitted.${field}` }); };
  if (!Array.isArray(fitted.variants) || !fitted.variants.length) bad('variants must be a non-empty array', 'variants');
  if (!(fitted.rows instanceof Float32Array)) bad('rows must be a Float32Array', 'rows');
  if (fitted.rows.length !== fitted.variants.length * W) {
    bad(`rows has ${fitted.rows.length} values, expected ${fitted.variants.length} variants × puzzle_emb_ndim ${W} = ${fitted.variants.length * W} (fitted for another model?)`, 'rows');
  }
  fitted.variants.forEach((v, i) => {
    if (!Number.isInteger(v?.tid) || v.tid < 0 || v.tid > 7) bad(`variants[${i}].tid must be 0..7`, `variants[${i}].tid`);
    if (!Array.isArray(v.perm) || v.perm.length !== 10 || [...v.perm].sort((a, b) => a - b).some((c, k) => c !== k)) bad(`variants[${i}].perm must be a permutation of 0..9`, `variants[${i}].perm`);
  });
  for (let k = 0; k < fitted.rows.length; k++) if (!Number.isFinite(fitted.rows[k])) bad(`rows[${k}] is ${fitted.rows[k]}, not finite`, 'rows');
  // Row i of the request stays with variant i through the reordering.
  const tagged = fitted.variants.map((v, i) => ({ ...v, row: i, source: 'fitted' as const }));
  const chosen = originalFirst(tagged).slice(0, maxVariants);
  const puzzle = new Float32Array(chosen.length * W);
  chosen.forEach((v, j) => puzzle.set(fitted.rows.subarray(v.row * W, (v.row + 1) * W), j * W));
  return { plan: { source: 'fitted', variants: chosen }, puzzle };
}

/** Plan plus rows in one go; `readFile` reads a model-directory file (verified cache, disk…); `fitted` rows win. */
export async function loadVariants(
  manifest: Manifest, task: Task, maxVariants: number, readFile: (path: string) => Promise<Uint8Array>,
  fitted?: { variants: Variant[]; rows: Float32Array },
): Promise<{ plan: VariantPlan; puzzle: Float32Array }> {
  if (fitted) return fittedVariants(manifest, fitted, maxVariants);
  const plan = planVariants(manifest, task, maxVariants);
  return { plan, puzzle: puzzleRows(manifest, plan, plan.file ? await readFile(plan.file) : undefined) };
}
