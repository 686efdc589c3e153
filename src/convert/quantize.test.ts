import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DataType, GraphBuilder } from './onnx.ts';
import type { Precision } from '../model/manifest.ts';
import { makeLinear } from './graphs.ts';
import { dequantizeInt8, dequantizeNBits4, fromHalf, quantizeInt8, quantizeNBits4, toHalf } from './quantize.ts';

/** Deterministic N(0,1)-ish values (no Math.random: failures must reproduce). */
function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/** x·Wᵀ in float64, the reference for the ORT kernels. */
function matmulT(x: Float32Array, w: Float32Array, m: number, k: number, n: number) {
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { let s = 0; for (let t = 0; t < k; t++) s += x[i * k + t] * w[j * k + t]; y[i * n + j] = s; }
  return y;
}

describe('quantizers round-trip', () => {
  it('fp16 keeps values within half precision (2^-11 relative)', () => {
    const w = randn(4096, 1);
    const back = fromHalf(toHalf(w));
    w.forEach((x, i) => expect(Math.abs(back[i] - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25));
    expect(fromHalf(toHalf(Float32Array.of(65504, 1e-8, -0, 1 / 3)))).toEqual(Float32Array.of(65504, 0, -0, Math.fround(0.333251953125)));
  });

  it('int8 per-channel error is at most half a step of each channel', () => {
    const [out, inp] = [24, 40];
    const w = randn(out * inp, 2);
    const q = quantizeInt8(w, out, inp);
    const back = dequantizeInt8(q, out, inp);
    for (let o = 0; o < out; o++) {
      const row = w.subarray(o * inp, o * inp + inp);
      expect(q.scale[o]).toBeCloseTo(maxAbs(row) / 127, 6);
      for (let i = 0; i < inp; i++) expect(Math.abs(back[o * inp + i] - row[i])).toBeLessThanOrEqual(q.scale[o] / 2 + 1e-7);
    }
  });

  it('4-bit blocks: the extreme is exact, others within half a step (one step where code 8 clips to 7), padded K handled', () => {
    for (const [n, k] of [[8, 64], [5, 48], [3, 20]]) {
      const w = randn(n * k, n + k);
      const q = quantizeNBits4(w, n, k);
      expect(q.kBlocks).toBe(Math.ceil(k / q.blockSize));
      const back = dequantizeNBits4(q, n, k);
      for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) {
        const s = Math.abs(q.scales[r * q.kBlocks + Math.floor(i / q.blockSize)]);
        const err = Math.abs(back[r * k + i] - w[r * k + i]);
        expect(err).toBeLessThanOrEqual((Math.abs(w[r * k + i]) > 7.5 * s ? s : s / 2) + 1e-6);
      }
    }
  });
});

describe('precision linears in onnxruntime (graph code as used by the block graph)', () => {
  const [m, k, n] = [6, 64, 40];
  const x = randn(m * k, 11), w = randn(n * k, 12);
  const ref = matmulT(x, w, m, k, n);

  async function run(precision: Precision) {
    const g = new GraphBuilder('t');
    g.input('x', DataType.FLOAT, [m, k]);
    g.o('Identity', [makeLinear(g, 'w', w, n, k, precision)('x')], undefined, { output: 'y' });
    g.output('y', DataType.FLOAT, [m, n]);
    const s = await ort.InferenceSession.create(g.toModel()); // default optimisation level 'all'
    const r = await s.run({ x: new ort.Tensor('float32', x, [m, k]) });
    await s.release();
    return r.y.data as Float32Array;
  }

  it('fp32 is exact up to summation order', async () => {
    expect(maxDiff(await run('fp32'), ref)).toBeLessThan(1e-5);
  });

  it('q8 stays weight-only: equals x·dequant(W)ᵀ, activations are not quantized', async () => {
    const q = quantizeInt8(w, n, k);
    expect(maxDiff(await run('q8'), matmulT(x, dequantizeInt8(q, n, k), m, k, n))).toBeLessThan(1e-5);
  });

  it('q4 MatMulNBits layout: B [N, blocks, bs/2] low nibble first, scales [N·blocks]', async () => {
    const q = quantizeNBits4(w, n, k);
    const y = await run('q4');
    expect(maxDiff(y, matmulT(x, dequantizeNBits4(q, n, k), m, k, n))).toBeLessThan(1e-4);
    // …and the error against the float weights is what 4 bits allow, not a layout scramble.
    expect(maxDiff(y, ref) / maxAbs(ref)).toBeLessThan(0.15);
  });

  it('fp16 matmul error is half-precision sized', async () => {
    expect(maxDiff(await run('fp16'), ref) / maxAbs(ref)).toBeLessThan(5e-3);
  });
});
