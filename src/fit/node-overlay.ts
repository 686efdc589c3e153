/** Reads and writes overlay directories on disk (CLI). */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Variant } from '../model/manifest.ts';
import { OVERLAY_FORMAT, OverlayError, originalVariant, packWeights, parseOverlay, unpackWeights, type FitStats, type Overlay } from './overlay.ts';

export async function readOverlay(dir: string, modelName?: string): Promise<Overlay | undefined> {
  const file = join(dir, 'overlay.json');
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => { if (e.code === 'ENOENT') return undefined; throw e; });
  return text === undefined ? undefined : parseOverlay(text, file, modelName);
}

/**
 * Adds (or replaces) one task's fitted row, and in full mode its fine-tuned weights
 * (a row refitted without weights drops the task's old ones: the row belongs to the
 * network it was fitted with). Other tasks already in the overlay stay. Data files
 * are written before overlay.json, so an interrupted write never leaves an entry
 * pointing at a missing or partial file. `row` is float32 [variants.length, W], row i for variant i.
 */
export async function writeOverlayRow(dir: string, modelName: string, taskId: string, row: Float32Array, stats: FitStats,
  weights?: { name: string; dims: number[]; data: Float32Array }[], variants: Variant[] = [originalVariant(taskId)]): Promise<Overlay> {
  if (!/^[\w.-]+$/.test(taskId)) throw new Error(`task id "${taskId}" cannot be used as a file name`);
  if (row.length % variants.length) throw new Error(`task ${taskId}: ${row.length} row values do not divide into ${variants.length} variants`);
  const overlay: Overlay = (await readOverlay(dir, modelName)) ?? { format: OVERLAY_FORMAT, model: modelName, created: '', tasks: {}, fits: {} };
  const path = `puzzles/${taskId}.bin`;
  await mkdir(join(dir, 'puzzles'), { recursive: true });
  await writeFile(join(dir, path), new Uint8Array(row.buffer, row.byteOffset, row.byteLength));
  if (weights) {
    const packed = packWeights(`weights/${taskId}.bin`, weights);
    await mkdir(join(dir, 'weights'), { recursive: true });
    await writeFile(join(dir, packed.table.path), packed.bytes);
    overlay.weights = { ...overlay.weights, [taskId]: packed.table };
  } else if (overlay.weights) {
    delete overlay.weights[taskId];
  }
  overlay.tasks[taskId] = { path, variants };
  overlay.fits[taskId] = stats;
  overlay.created = new Date().toISOString();
  await writeFile(join(dir, 'overlay.json'), JSON.stringify(overlay, null, 1));
  return overlay;
}

/** A task's fine-tuned weights (graph layout, by name), or undefined when it was fitted row-only. */
export async function readOverlayWeights(dir: string, overlay: Overlay, taskId: string): Promise<Record<string, Float32Array> | undefined> {
  const table = overlay.weights?.[taskId];
  if (!table) return undefined;
  const bytes = await readFile(join(dir, table.path)).catch((e: NodeJS.ErrnoException) => {
    throw new OverlayError(`${join(dir, table.path)}: cannot read task ${taskId}'s fine-tuned weights (${e.code ?? e.message})`);
  });
  return unpackWeights(bytes, table);
}
