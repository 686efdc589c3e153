/**
 * The Chromium side of the benchmark, exposed as window.bench for bench/browser.ts:
 *  - runCases: the same timed loops as the Node child (bench/measure.ts) on onnxruntime-web,
 *    on the main thread, model files fetched directly (no cache: that is not what is timed);
 *  - firstFrame: the app's real path (TrmEngine → worker → IndexedDB cache → first frame),
 *    timed from navigation start, so a fresh profile measures a cold start and a reused one a warm start.
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { InferenceSession } from 'onnxruntime-common';
import type { Task } from '../src/arc/types.ts';
import { probePlatform } from '../src/engine/backend.ts';
import { TrmEngine } from '../src/engine/client.ts';
import type { BackendChoice, Probe } from '../src/engine/protocol.ts';
import { openSessions, releaseSessions } from '../src/engine/sessions.ts';
import type { Manifest, Precision } from '../src/model/manifest.ts';
import { runCase, timeUnrolled, type OpenedModel } from './measure.ts';
import type { Case, CaseResult } from './plan.ts';

// WASM memory only grows (notes B5), so its size after the runs is the peak. ORT creates it inside
// the emscripten module; watching instantiation is the one place it can be seen from outside.
const memories = new Set<WebAssembly.Memory>();
const watch = <T extends { instance: WebAssembly.Instance }>(p: Promise<T>) =>
  p.then((r) => {
    for (const v of Object.values(r.instance.exports)) if (v instanceof WebAssembly.Memory) memories.add(v);
    return r;
  });
const { instantiate, instantiateStreaming } = WebAssembly;
WebAssembly.instantiateStreaming = ((src, imports) => watch(instantiateStreaming(src, imports))) as typeof instantiateStreaming;
WebAssembly.instantiate = ((src: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports) => {
  const r = instantiate(src as BufferSource, imports);
  return src instanceof WebAssembly.Module ? r : watch(r as Promise<WebAssembly.WebAssemblyInstantiatedSource>);
}) as typeof instantiate;
const NativeMemory = WebAssembly.Memory;
WebAssembly.Memory = function (d: WebAssembly.MemoryDescriptor) {
  const m = new NativeMemory(d);
  memories.add(m);
  return m;
} as unknown as typeof WebAssembly.Memory;
WebAssembly.Memory.prototype = NativeMemory.prototype;

const WARM_UP_MS = 5000;

ort.env.wasm.proxy = false;
// One thread, as the Node reference: comparable, and faster than two on a 2-core machine (notes A4).
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

export interface RunCasesRequest {
  modelId: string;
  backend: 'wasm' | 'webgpu';
  cases: Case[];
  /** Inputs per batch size (from the Node side, so both runtimes see the same grids). */
  inputs: Record<number, { tokens: number[]; puzzle: number[] }>;
}

async function runCases(r: RunCasesRequest): Promise<{ results: CaseResult[]; wasmHeapBytes: number }> {
  const base = `/models/${r.modelId}/`;
  const manifest = (await (await fetch(`${base}manifest.json`)).json()) as Manifest;
  const files = new Map<string, Uint8Array>();
  const read = async (p: string) => {
    if (!files.has(p)) {
      const res = await fetch(base + p);
      if (!res.ok) throw new Error(`${base}${p}: HTTP ${res.status}`);
      files.set(p, new Uint8Array(await res.arrayBuffer()));
    }
    return files.get(p)!;
  };
  const gpu = r.backend === 'webgpu';
  const sessionOptions: InferenceSession.SessionOptions = { executionProviders: [r.backend] };
  const backend = gpu ? 'ort-web-webgpu' : 'ort-web-wasm';
  const open = async (precision: Precision): Promise<OpenedModel> => {
    const sessions = await openSessions(ort, manifest, read, { precision, sessionOptions, keepOnDevice: gpu });
    const stepPath = manifest.graphs.step?.[precision];
    const step = stepPath
      ? await ort.InferenceSession.create(await read(stepPath), gpu ? { ...sessionOptions, preferredOutputLocation: { z_H_out: 'gpu-buffer', z_L_out: 'gpu-buffer' } } : sessionOptions)
      : undefined;
    return { sessions, step, release: async () => { await releaseSessions(sessions); await step?.release(); } };
  };
  const inputOf = (batch: number) => ({ tokens: Int32Array.from(r.inputs[batch].tokens), puzzle: Float32Array.from(r.inputs[batch].puzzle) });
  // V8 first runs wasm on its baseline compiler and swaps in optimized code later (seconds for
  // ORT's 27 MB module on a busy machine); WebGPU compiles shaders on first use. Without this
  // warm-up the first case is timed on cold code (measured: 2.3 s instead of 1.3 s per step).
  if (r.cases.length) {
    const first = r.cases[0];
    const m = await open(first.precision);
    try {
      const t0 = performance.now();
      do await timeUnrolled(ort, m.sessions, manifest.config, inputOf(1), 1, 1);
      while (performance.now() - t0 < WARM_UP_MS);
      console.log(`${backend} ${r.modelId}: warm-up ${Math.round(performance.now() - t0)} ms`);
    } finally {
      await m.release();
    }
  }
  const results: CaseResult[] = [];
  for (const c of r.cases) {
    results.push(await runCase(ort, open, manifest.config, inputOf(c.batch), c, backend, r.modelId, (line) => console.log(line)));
  }
  return { results, wasmHeapBytes: Math.max(0, ...[...memories].map((m) => m.buffer.byteLength)) };
}

export interface FirstFrame {
  /** From navigation start to the first frame (ms). */
  ttffMs: number;
  /** From navigation start to the harness being ready (page, scripts). */
  pageMs: number;
  /** engine.load(): worker start, ORT wasm compile, model files, session creation. */
  loadMs: number;
  networkBytes: number;
  choice: BackendChoice;
}

async function firstFrame(modelId: string, backend: 'wasm' | 'webgpu', task: Task): Promise<FirstFrame> {
  const pageMs = performance.now();
  const engine = new TrmEngine();
  try {
    const info = await engine.load(`/models/${modelId}/manifest.json`, { backend });
    let ttffMs = -1;
    await engine.solve({ task, testIndex: 0, steps: 1, maxVariants: 1 }, {
      onFrameBatch: () => { if (ttffMs < 0) ttffMs = performance.now(); },
    });
    return { ttffMs, pageMs, loadMs: info.loadMs, networkBytes: info.networkBytes, choice: info.backend };
  } finally {
    await engine.dispose();
  }
}

declare global {
  interface Window {
    bench: { probe(): Promise<Probe>; runCases: typeof runCases; firstFrame: typeof firstFrame };
  }
}

window.bench = { probe: probePlatform, runCases, firstFrame };
document.body.dataset.ready = 'true';
