/**
 * A model overlay: puzzle rows fitted for tasks the model has no rows for,
 * kept beside (not inside) the model directory so the model stays as converted.
 * Layout: overlay.json + puzzles/<task>.bin, each rows file float32
 * [variants, puzzle_emb_ndim] described by the manifest's TaskRows format.
 */
import type { TaskRows, Variant } from '../model/manifest.ts';

export const OVERLAY_FORMAT = 'trm-studio-overlay/1' as const;

export interface FitStats {
  steps: number;
  optimizer: 'adam' | 'sign';
  lr: number;
  /** Mean loss per demonstration of the first ACT step from a fresh carry, before and after fitting. */
  loss_before: number;
  loss_after: number;
  /** Demonstrations solved exactly after the full recursion (trained on / held out). */
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
}

/** Rows are fitted on the task as given: one variant, identity transform and colours. */
export function originalVariant(taskId: string): Variant {
  return { name: taskId, tid: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], row: 0 };
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
  return { ...(o as Overlay), fits: o.fits ?? {} };
}
