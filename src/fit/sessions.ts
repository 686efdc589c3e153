/** Opens the fitting sessions (the three inference graphs + fit_grad.onnx) with any ORT binding. */
import type { InferenceSession } from 'onnxruntime-common';
import type { Manifest } from '../model/manifest.ts';
import { ModelFileError, openSessions, releaseSessions, type OrtSessionBinding } from '../engine/sessions.ts';
import type { FitSessions } from './fit.ts';

export async function openFitSessions(
  ort: OrtSessionBinding,
  manifest: Manifest,
  readFile: (path: string) => Promise<Uint8Array>,
  sessionOptions?: InferenceSession.SessionOptions,
): Promise<FitSessions> {
  const path = manifest.graphs.grad;
  if (!path) throw new ModelFileError(`model "${manifest.name}" has no gradient graph (manifest graphs.grad); reconvert it with \`trm convert --grad\``);
  // The gradient exists for fp32 only, so the forward cycles run fp32 too.
  const base = await openSessions(ort, manifest, readFile, { precision: 'fp32', sessionOptions });
  try {
    return { ...base, grad: await ort.InferenceSession.create(await readFile(path), sessionOptions) };
  } catch (e) {
    await releaseSessions(base);
    throw e;
  }
}

export async function releaseFitSessions(s: FitSessions) {
  await Promise.all([releaseSessions(s), s.grad.release()]);
}
