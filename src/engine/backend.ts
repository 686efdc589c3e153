/**
 * Backend choice: probe the WebGPU adapter once, then pick backend and precision explicitly
 * (never ORT's silent EP fallback list) and say why, so the UI can show it:
 *   WebGPU + fp16 where shader-f16 exists, WebGPU + fp32 otherwise, else WASM + q8.
 */
import type { Precision } from '../model/manifest.ts';
import { ModelMismatchError, ShaderF16UnsupportedError, WebGpuUnavailableError } from './errors.ts';
import type { BackendChoice, BackendName, BackendPreference, PrecisionPreference, Probe } from './protocol.ts';

/** The slice of the WebGPU API the probe reads (lib.dom of TS 5.9 has no navigator.gpu). */
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<{
    features: { has(name: string): boolean };
    info?: { vendor?: string; architecture?: string; isFallbackAdapter?: boolean };
  } | null>;
}

export async function probePlatform(): Promise<Probe> {
  const nav = globalThis.navigator as (Navigator & { gpu?: GpuLike }) | undefined;
  const crossOriginIsolated = globalThis.crossOriginIsolated === true;
  // ORT's default: min(4, cores/2) threads, and only when cross-origin isolated.
  const wasmThreads = crossOriginIsolated ? Math.max(1, Math.min(4, Math.floor((nav?.hardwareConcurrency ?? 2) / 2))) : 1;
  const base = { crossOriginIsolated, wasmThreads, shaderF16: false };
  if (!nav?.gpu) return { ...base, webgpu: false, webgpuReason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { ...base, webgpu: false, webgpuReason: 'WebGPU is present but no GPU adapter was granted' };
    return {
      ...base,
      webgpu: true,
      shaderF16: adapter.features.has('shader-f16'),
      adapter: {
        vendor: adapter.info?.vendor ?? '',
        architecture: adapter.info?.architecture ?? '',
        isFallbackAdapter: adapter.info?.isFallbackAdapter === true,
      },
    };
  } catch (e) {
    return { ...base, webgpu: false, webgpuReason: `requesting a WebGPU adapter failed: ${(e as Error).message}` };
  }
}

const pick = (available: Precision[], order: Precision[]) => order.find((p) => available.includes(p));

function precisionFor(backend: BackendName, probe: Probe, available: Precision[], wanted: PrecisionPreference): { precision: Precision; why: string } {
  if (wanted !== 'auto') {
    if (!available.includes(wanted)) {
      throw new ModelMismatchError(`the model has no ${wanted} block graph (it ships ${available.join(', ')})`, { precision: wanted, available });
    }
    if (backend === 'webgpu' && wanted === 'fp16' && !probe.shaderF16) {
      throw new ShaderF16UnsupportedError('fp16 on WebGPU needs the shader-f16 feature, which this adapter lacks; use fp32', { precision: wanted });
    }
    return { precision: wanted, why: `${wanted} forced` };
  }
  // WebGPU: fp16 halves bandwidth but needs shader-f16; quantized WebGPU kernels are unreliable (notes B6).
  // WASM: uint8 weights are ORT's advice for CPU; fp16 on CPU is slow.
  const order: Precision[] = backend === 'webgpu'
    ? (probe.shaderF16 ? ['fp16', 'fp32'] : ['fp32'])
    : ['q8', 'fp32', 'fp16', 'q4'];
  const precision = pick(available, order);
  if (!precision) throw new ModelMismatchError(`the model ships no block graph usable on ${backend} (it has ${available.join(', ')})`, { backend, available });
  const why = backend === 'webgpu'
    ? (probe.shaderF16 ? (precision === 'fp16' ? 'shader-f16 available' : 'no fp16 graph in the model') : 'no shader-f16 on this adapter')
    : (precision === 'q8' ? '8-bit weights: a quarter of the fp32 download (measured about as fast as fp32 on WASM, see bench/README.md)' : 'no q8 graph in the model');
  return { precision, why };
}

export function chooseBackend(probe: Probe, available: Precision[], backend: BackendPreference = 'auto', precision: PrecisionPreference = 'auto'): BackendChoice {
  const forced = backend !== 'auto' || precision !== 'auto';
  if (backend === 'webgpu' && !probe.webgpu) {
    throw new WebGpuUnavailableError(`WebGPU was requested but is unavailable: ${probe.webgpuReason}. See https://webgpureport.org`, { reason: probe.webgpuReason });
  }
  const name: BackendName = backend === 'auto' ? (probe.webgpu ? 'webgpu' : 'wasm') : backend;
  const p = precisionFor(name, probe, available, precision);
  const label = name === 'webgpu' ? 'WebGPU' : 'WASM';
  const base = backend !== 'auto' ? `${label} forced` : name === 'webgpu' ? 'WebGPU adapter found' : `no WebGPU (${probe.webgpuReason})`;
  return { backend: name, precision: p.precision, reason: `${base}; ${p.precision}: ${p.why}`, forced };
}

/** The WASM choice after WebGPU failed; a forced precision is kept (WASM runs every precision). */
export function fallbackChoice(probe: Probe, available: Precision[], precision: PrecisionPreference, why: string): BackendChoice {
  const p = precisionFor('wasm', probe, available, precision);
  return { backend: 'wasm', precision: p.precision, reason: `WebGPU failed (${why}); fell back to WASM; ${p.precision}: ${p.why}`, forced: precision !== 'auto' };
}
