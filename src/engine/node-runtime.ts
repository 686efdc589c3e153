/** Loads a model directory from disk and runs it with onnxruntime-node (CLI, tests). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Manifest, Precision } from '../model/manifest.ts';
import { openSessions } from './sessions.ts';
import type { OrtBinding, TrmSessions } from './recursion.ts';

export interface NodeModel {
  dir: string;
  manifest: Manifest;
  sessions: TrmSessions;
  ort: OrtBinding;
}

export async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

export async function loadModelDir(dir: string, precision: Precision = 'fp32', threads = 1): Promise<NodeModel> {
  const manifest = await readManifest(dir);
  const sessions = await openSessions(ort, manifest, async (p) => new Uint8Array(await readFile(join(dir, p))), {
    precision,
    sessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  return { dir, manifest, sessions, ort };
}

/** Rows of the exported whole table (manifest.puzzles.table), by identifier index. */
export async function tableRows(m: Pick<NodeModel, 'dir' | 'manifest'>, ids: number[]): Promise<Float32Array> {
  const t = m.manifest.puzzles.table;
  if (!t) throw new Error(`model "${m.manifest.name}" has no exported puzzle table (convert with --table)`);
  const buf = await readFile(join(m.dir, t.path));
  const table = new Float32Array(Uint8Array.from(buf).buffer); // copy: Buffer offsets need not be 4-aligned
  const w = m.manifest.config.puzzle_emb_ndim;
  const out = new Float32Array(ids.length * w);
  ids.forEach((id, i) => {
    if (!(id >= 0 && id < t.rows)) throw new RangeError(`puzzle id ${id} outside the table (${t.rows} rows)`);
    out.set(table.subarray(id * w, id * w + w), i * w);
  });
  return out;
}
