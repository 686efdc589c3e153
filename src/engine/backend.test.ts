import { describe, expect, test } from 'vitest';
import { chooseBackend, fallbackChoice } from './backend.ts';
import { ModelMismatchError, ShaderF16UnsupportedError, WebGpuUnavailableError } from './errors.ts';
import type { Probe } from './protocol.ts';

const base = { crossOriginIsolated: true, wasmThreads: 1 };
const noGpu: Probe = { ...base, webgpu: false, shaderF16: false, webgpuReason: 'navigator.gpu is missing' };
const gpu: Probe = { ...base, webgpu: true, shaderF16: false };
const gpuF16: Probe = { ...base, webgpu: true, shaderF16: true };
const all = ['fp32', 'fp16', 'q8'] as const;

describe('chooseBackend', () => {
  test('auto: fp16 on WebGPU with shader-f16, fp32 without, q8 on WASM', () => {
    expect(chooseBackend(gpuF16, [...all])).toMatchObject({ backend: 'webgpu', precision: 'fp16', forced: false });
    expect(chooseBackend(gpu, [...all])).toMatchObject({ backend: 'webgpu', precision: 'fp32' });
    const wasm = chooseBackend(noGpu, [...all]);
    expect(wasm).toMatchObject({ backend: 'wasm', precision: 'q8' });
    expect(wasm.reason).toContain('navigator.gpu is missing');
  });

  test('auto falls back to what the model ships', () => {
    expect(chooseBackend(gpuF16, ['fp32', 'q8'])).toMatchObject({ backend: 'webgpu', precision: 'fp32' });
    expect(chooseBackend(noGpu, ['fp32'])).toMatchObject({ backend: 'wasm', precision: 'fp32' });
    expect(() => chooseBackend(gpu, ['q8'])).toThrow(ModelMismatchError);
  });

  test('forced choices are honoured or refused with a named error', () => {
    expect(chooseBackend(gpuF16, [...all], 'wasm', 'fp32')).toMatchObject({ backend: 'wasm', precision: 'fp32', forced: true });
    expect(() => chooseBackend(noGpu, [...all], 'webgpu')).toThrow(WebGpuUnavailableError);
    expect(() => chooseBackend(gpu, [...all], 'webgpu', 'fp16')).toThrow(ShaderF16UnsupportedError);
    expect(() => chooseBackend(gpu, ['fp32'], 'auto', 'q8')).toThrow(/no q8 block graph/);
  });

  test('fallback goes to WASM and keeps a forced precision', () => {
    expect(fallbackChoice(gpu, [...all], 'auto', 'device lost')).toMatchObject({ backend: 'wasm', precision: 'q8' });
    const kept = fallbackChoice(gpu, [...all], 'fp32', 'device lost');
    expect(kept).toMatchObject({ backend: 'wasm', precision: 'fp32', forced: true });
    expect(kept.reason).toContain('device lost');
  });
});
