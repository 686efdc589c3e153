/**
 * Opens the three InferenceSessions of a model directory with any ORT
 * binding (onnxruntime-node in the CLI/tests, onnxruntime-web in the worker).
 * Files come through `readFile`, so the caller decides where bytes live
 * (disk, IndexedDB cache, fetch).
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { Manifest, Precision } from '../model/manifest.ts';
import type { TrmSessions } from './recursion.ts';

export interface OrtSessionBinding {
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
}

export interface OpenSessionsOptions {
  precision?: Precision;
  /** Applied to all three sessions (execution providers, threads, …). */
  sessionOptions?: InferenceSession.SessionOptions;
  /**
   * Keep embed and block outputs (x, z_H, z_L, zeros, out) in GPU buffers so
   * the carry never leaves the device; readout outputs always come to the CPU.
   */
  keepOnDevice?: boolean;
}

export class ModelFileError extends Error {
  constructor(message: string) { super(message); this.name = 'ModelFileError'; }
}

export async function openSessions(
  ort: OrtSessionBinding,
  manifest: Manifest,
  readFile: (path: string) => Promise<Uint8Array>,
  o: OpenSessionsOptions = {},
): Promise<TrmSessions> {
  const precision = o.precision ?? 'fp32';
  const blockPath = manifest.graphs.block[precision];
  if (!blockPath) throw new ModelFileError(`model "${manifest.name}" has no ${precision} block graph (available: ${Object.keys(manifest.graphs.block).join(', ')})`);
  const load = async (path: string) => {
    const data = await readFile(path);
    const entry = manifest.files.find((f) => f.path === path);
    if (!entry) throw new ModelFileError(`manifest of "${manifest.name}" does not list ${path}`);
    if (entry.bytes !== data.length) throw new ModelFileError(`${path}: ${data.length} bytes, manifest says ${entry.bytes} (incomplete download?)`);
    return data;
  };
  const base = o.sessionOptions ?? {};
  const onDevice = (names: string[]): InferenceSession.SessionOptions =>
    o.keepOnDevice ? { ...base, preferredOutputLocation: Object.fromEntries(names.map((n) => [n, 'gpu-buffer' as const])) } : base;
  // Sequential on purpose: ORT web serialises session creation anyway, and wasm memory peaks are lower.
  const embed = await ort.InferenceSession.create(await load(manifest.graphs.embed), onDevice(['x', 'z_H', 'z_L', 'zeros']));
  const block = await ort.InferenceSession.create(await load(blockPath), onDevice(['out']));
  const readout = await ort.InferenceSession.create(await load(manifest.graphs.readout), base);
  return { embed, block, readout };
}

export async function releaseSessions(s: TrmSessions) {
  await Promise.all([s.embed.release(), s.block.release(), s.readout.release()]);
}
