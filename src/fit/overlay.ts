/**
 * A model overlay: puzzle rows fitted for tasks the model has no rows for,
 * kept beside (not inside) the model directory so the model stays as converted.
 * Layout: overlay.json + puzzles/<task>.bin, each rows file float32
 * [variants, puzzle_emb_ndim] described by the manifest's TaskRows format.
 * A task fitted in whole-network mode also has weights/<task>.bin: its
 * fine-tuned tensors (graph layout, float32, concatenated) with a
 * name → byte offset table in overlay.json `weights`; its row is only
 * valid with those weights.
 */
import { formatVariantName } from '../arc/augment.ts';
import { Rng } from '../arc/generators/rng.ts';
import { fnv1a } from '../arc/hash.ts';
import type { TaskRows, Variant } from '../model/manifest.ts';

export const OVERLAY_FORMAT = 'trm-studio-overlay/1' as const;

export interface FitStats {
  /** row: network frozen (default when absent); full: every weight fine-tuned with the row. */
  mode?: 'row' | 'full';
  /** Adam lr of the weights (full mode). */
  weight_lr?: number;
  steps: number;
  /** Augmented variants fitted, one row each (default 1: the task as given). */
  variants?: number;
  optimizer: 'adam' | 'sign';
  lr: number;
  /** Mean loss per demonstration of the first ACT step from a fresh carry, before and after fitting. */
  loss_before: number;
  loss_after: number;
  /** Demonstrations solved exactly after the full recursion (trained on / held out), over all variants. */
  train_exact: number;
  train_total: number;
  held_out_exact?: number;
  held_out_total?: number;
}

export interface Overlay {
  format: typeof OVERLAY_FORMAT;
  /** manifest.name of the model the rows were fitted for. */
  model: string;
  created: string;
  tasks: Record<string, TaskRows>;
  fits: Record<string, FitStats>;
  /** Whole-network fine-tuned weights of the tasks fitted in full mode. */
  weights?: Record<string, OverlayWeights>;
}

export interface OverlayWeights {
  /** float32 little-endian, the tensors back to back. */
  path: string;
  tensors: { name: string; dims: number[]; offset: number }[];
}

/** Tensors → one buffer and its table (offsets in bytes). */
export function packWeights(path: string, tensors: { name: string; dims: number[]; data: Float32Array }[]): { table: OverlayWeights; bytes: Uint8Array } {
  const total = tensors.reduce((n, t) => n + t.data.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  const table: OverlayWeights = { path, tensors: [] };
  for (const t of tensors) {
    const size = t.dims.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new OverlayError(`weights "${t.name}": ${t.data.length} values for dims [${t.dims}]`);
    all.set(t.data, at);
    table.tensors.push({ name: t.name, dims: t.dims, offset: 4 * at });
    at += t.data.length;
  }
  return { table, bytes: new Uint8Array(all.buffer) };
}

/** The buffer back to tensors by name, checking it against the table. */
export function unpackWeights(bytes: Uint8Array, table: OverlayWeights): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  const copy = new Float32Array(Uint8Array.from(bytes).buffer); // copy: file buffers need not be 4-aligned
  for (const t of table.tensors) {
    const size = t.dims.reduce((a, b) => a * b, 1);
    if (t.offset % 4 || t.offset + 4 * size > bytes.length) throw new OverlayError(`${table.path}: "${t.name}" at byte ${t.offset} (${size} floats) lies outside the file's ${bytes.length} bytes`);
    out[t.name] = copy.slice(t.offset / 4, t.offset / 4 + size);
  }
  return out;
}

/** Rows are fitted on the task as given: one variant, identity transform and colours. */
export function originalVariant(taskId: string): Variant {
  return { name: taskId, tid: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], row: 0 };
}

/** Most variants a fit trains: the identity and the 7 other dihedral transforms. */
export const MAX_FIT_VARIANTS = 8;

/**
 * The K variants a new task's rows are fitted for (row i = variant i): the identity first, then
 * distinct dihedral transforms 1..7, each with a colour permutation keeping 0 (background) fixed,
 * as upstream augments. Drawn from a generator seeded by the task id, so a refit gets the same ones.
 */
export function fitVariants(taskId: string, K: number): Variant[] {
  if (!Number.isInteger(K) || K < 1 || K > MAX_FIT_VARIANTS) throw new RangeError(`variants ${K} must be an integer 1..${MAX_FIT_VARIANTS}`);
  const rng = new Rng(fnv1a(`${taskId}:fit-variants`));
  const tids = rng.shuffle([1, 2, 3, 4, 5, 6, 7]);
  const out = [originalVariant(taskId)];
  for (let i = 1; i < K; i++) {
    const aug = { tid: tids[i - 1], perm: [0, ...rng.shuffle([1, 2, 3, 4, 5, 6, 7, 8, 9])] };
    out.push({ name: formatVariantName(taskId, aug), ...aug, row: i });
  }
  return out;
}

export class OverlayError extends Error {
  constructor(message: string) { super(message); this.name = 'OverlayError'; }
}

/** Parses overlay.json, naming the file and field of anything malformed. */
export function parseOverlay(text: string, file: string, modelName?: string): Overlay {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch (e) { throw new OverlayError(`${file}: not valid JSON (${(e as Error).message})`); }
  const o = doc as Partial<Overlay>;
  if (!o || typeof o !== 'object' || o.format !== OVERLAY_FORMAT) throw new OverlayError(`${file}: format is ${JSON.stringify(o?.format)}, expected "${OVERLAY_FORMAT}"`);
  if (typeof o.model !== 'string') throw new OverlayError(`${file}: model must be the model's name`);
  if (modelName !== undefined && o.model !== modelName) throw new OverlayError(`${file}: rows were fitted for model "${o.model}", not "${modelName}"`);
  if (!o.tasks || typeof o.tasks !== 'object') throw new OverlayError(`${file}: tasks must be an object`);
  for (const [id, t] of Object.entries(o.tasks)) {
    if (typeof t?.path !== 'string' || !Array.isArray(t.variants)) throw new OverlayError(`${file}: tasks.${id} needs path and variants`);
  }
  for (const [id, w] of Object.entries(o.weights ?? {})) {
    if (!o.tasks[id]) throw new OverlayError(`${file}: weights.${id} belongs to no task in tasks`);
    if (typeof w?.path !== 'string' || !Array.isArray(w.tensors)) throw new OverlayError(`${file}: weights.${id} needs path and tensors`);
    for (const [i, t] of w.tensors.entries()) {
      if (typeof t?.name !== 'string' || !Array.isArray(t.dims) || !Number.isInteger(t.offset)) throw new OverlayError(`${file}: weights.${id}.tensors[${i}] needs name, dims and an integer offset`);
    }
  }
  return { ...(o as Overlay), fits: o.fits ?? {} };
}
