/** Reads and writes overlay directories on disk (CLI). */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OVERLAY_FORMAT, originalVariant, parseOverlay, type FitStats, type Overlay } from './overlay.ts';

export async function readOverlay(dir: string, modelName?: string): Promise<Overlay | undefined> {
  const file = join(dir, 'overlay.json');
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => { if (e.code === 'ENOENT') return undefined; throw e; });
  return text === undefined ? undefined : parseOverlay(text, file, modelName);
}

/** Adds (or replaces) one task's fitted row; other tasks already in the overlay stay. */
export async function writeOverlayRow(dir: string, modelName: string, taskId: string, row: Float32Array, stats: FitStats): Promise<Overlay> {
  if (!/^[\w.-]+$/.test(taskId)) throw new Error(`task id "${taskId}" cannot be used as a file name`);
  const overlay: Overlay = (await readOverlay(dir, modelName)) ?? { format: OVERLAY_FORMAT, model: modelName, created: '', tasks: {}, fits: {} };
  const path = `puzzles/${taskId}.bin`;
  await mkdir(join(dir, 'puzzles'), { recursive: true });
  await writeFile(join(dir, path), new Uint8Array(row.buffer, row.byteOffset, row.byteLength));
  overlay.tasks[taskId] = { path, variants: [originalVariant(taskId)] };
  overlay.fits[taskId] = stats;
  overlay.created = new Date().toISOString();
  await writeFile(join(dir, 'overlay.json'), JSON.stringify(overlay, null, 1));
  return overlay;
}
