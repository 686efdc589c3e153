/**
 * Named engine errors (WebLLM error.ts style): the UI can tell a missing WebGPU from a
 * corrupted download from a cancelled run by class, and the message already says what to do.
 * They cross the worker boundary as {name, message, details} and are rebuilt by name.
 */
export class EngineError extends Error {
  // Spelled out in every class: a minified build renames classes, and the name crosses the worker boundary.
  override name = 'EngineError';
  /** Structured facts for the UI (file names, sizes, …); structured-clone safe. */
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.details = details;
  }
}

/** navigator.gpu or an adapter is missing (or the user forced WebGPU where there is none). */
export class WebGpuUnavailableError extends EngineError { override name = 'WebGpuUnavailableError'; }
/** fp16 was forced on an adapter without shader-f16. */
export class ShaderF16UnsupportedError extends EngineError { override name = 'ShaderF16UnsupportedError'; }
/** The GPU device was lost (driver reset, out of memory, destroyed). */
export class DeviceLostError extends EngineError { override name = 'DeviceLostError'; }
/** onnxruntime could not create a session for a graph on the chosen backend. */
export class SessionCreateError extends EngineError { override name = 'SessionCreateError'; }
/** A model file could not be fetched (network error or HTTP status). */
export class ModelFetchError extends EngineError { override name = 'ModelFetchError'; }
/** A model file's sha256 differs from the manifest even after a fresh download. */
export class IntegrityError extends EngineError { override name = 'IntegrityError'; }
/** manifest.json is unreadable, of another format, or lacks a field. */
export class ManifestError extends EngineError { override name = 'ManifestError'; }
/** The model directory lacks what was asked for (a precision, a task's rows). */
export class ModelMismatchError extends EngineError { override name = 'ModelMismatchError'; }
/** solve() before load(), or after dispose(). */
export class NoModelLoadedError extends EngineError { override name = 'NoModelLoadedError'; }
/** The run was cancelled by the user. */
export class CancelledError extends EngineError { override name = 'CancelledError'; }
/** A request the worker cannot act on (bad fields, unknown type). */
export class InvalidRequestError extends EngineError { override name = 'InvalidRequestError'; }
/** A task's grid is larger than the model's canvas; details.field names it (`train[0].input`). */
export class TaskTooLargeError extends EngineError { override name = 'TaskTooLargeError'; }
/** The worker script itself failed (did not load, crashed). */
export class WorkerCrashedError extends EngineError { override name = 'WorkerCrashedError'; }

const CLASSES = {
  EngineError,
  WebGpuUnavailableError,
  ShaderF16UnsupportedError,
  DeviceLostError,
  SessionCreateError,
  ModelFetchError,
  IntegrityError,
  ManifestError,
  ModelMismatchError,
  NoModelLoadedError,
  CancelledError,
  InvalidRequestError,
  TaskTooLargeError,
  WorkerCrashedError,
} as const;

export type EngineErrorName = keyof typeof CLASSES;

export interface SerializedError {
  name: string;
  message: string;
  details: Record<string, unknown>;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof EngineError) return { name: e.name, message: e.message, details: e.details };
  if (e instanceof Error) return { name: 'EngineError', message: `${e.name}: ${e.message}`, details: {} };
  return { name: 'EngineError', message: String(e), details: {} };
}

export function deserializeError(s: SerializedError): EngineError {
  const Cls = (CLASSES as Record<string, typeof EngineError>)[s.name] ?? EngineError;
  return new Cls(s.message, s.details);
}
