/**
 * Weight quantizers for the block graph. All are weight-only: activations stay
 * float32, so errors do not come from activation clipping (which would
 * compound over the ~480 block applications of a run).
 *  - fp16: IEEE half, round to nearest even.
 *  - q8: symmetric int8 per output channel, for ONNX DequantizeLinear (runs on
 *        ORT wasm and WebGPU; MatMulInteger/DynamicQuantizeLinear have no WebGPU kernels).
 *  - q4: symmetric 4-bit blocks along K for com.microsoft MatMulNBits.
 */
import { floatToHalf, halfToFloat } from './checkpoint.ts';

export function toHalf(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = floatToHalf(a[i]);
  return out;
}

export function fromHalf(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]);
  return out;
}

/** [rows, cols] → [cols, rows]; PyTorch's [out, in] weight becomes MatMul's [in, out]. */
export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

export interface Int8Weight {
  /** int8 [in, out] (MatMul layout). */
  q: Int8Array;
  /** float32 [out], one scale per output channel (DequantizeLinear axis 1). */
  scale: Float32Array;
}

/** w is PyTorch [out, in]; returns MatMul-layout int8 with per-output-channel scales. */
export function quantizeInt8(w: Float32Array, out: number, inp: number): Int8Weight {
  const q = new Int8Array(w.length);
  const scale = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let amax = 0;
    for (let i = 0; i < inp; i++) amax = Math.max(amax, Math.abs(w[o * inp + i]));
    const s = Math.fround(amax / 127) || 1;
    scale[o] = s;
    for (let i = 0; i < inp; i++) q[i * out + o] = Math.max(-127, Math.min(127, Math.round(w[o * inp + i] / s)));
  }
  return { q, scale };
}

export function dequantizeInt8({ q, scale }: Int8Weight, out: number, inp: number): Float32Array {
  const w = new Float32Array(out * inp);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) w[o * inp + i] = q[i * out + o] * scale[o];
  return w;
}

export interface NBitsWeight {
  /** uint8 [N, kBlocks, blockSize/2], low nibble first along K (MatMulNBits input B). */
  packed: Uint8Array;
  /** float32 [N · kBlocks]. */
  scales: Float32Array;
  blockSize: number;
  kBlocks: number;
}

/** Largest MatMulNBits block (power of two ≥ 16, ≤ 32) that tiles K without padding where possible. */
export function nbitsBlockSize(k: number): number {
  return k % 32 === 0 ? 32 : 16;
}

/**
 * 4-bit symmetric blocks, zero point 8 (MatMulNBits' default when no
 * zero_points input is given). Like ORT's own quantizer the block's
 * largest-magnitude value maps to code 0 (−8), so all 16 codes are used.
 * w is PyTorch [N=out, K=in], which is already MatMulNBits' row order.
 */
export function quantizeNBits4(w: Float32Array, n: number, k: number, blockSize = nbitsBlockSize(k)): NBitsWeight {
  const kBlocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(n * kBlocks * blob);
  const scales = new Float32Array(n * kBlocks);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < kBlocks; b++) {
      let vmax = 0;
      for (let i = b * blockSize; i < Math.min(k, (b + 1) * blockSize); i++) if (Math.abs(w[r * k + i]) > Math.abs(vmax)) vmax = w[r * k + i];
      const s = Math.fround(vmax / -8);
      scales[r * kBlocks + b] = s;
      const inv = s ? 1 / s : 0;
      for (let j = 0; j < blockSize; j++) {
        const i = b * blockSize + j;
        const code = i < k ? Math.max(0, Math.min(15, Math.round(w[r * k + i] * inv) + 8)) : 8;
        const at = (r * kBlocks + b) * blob + (j >> 1);
        packed[at] |= j & 1 ? code << 4 : code;
      }
    }
  }
  return { packed, scales, blockSize, kBlocks };
}

export function dequantizeNBits4(q: NBitsWeight, n: number, k: number): Float32Array {
  const w = new Float32Array(n * k);
  const blob = q.blockSize / 2;
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < k; i++) {
      const b = Math.floor(i / q.blockSize), j = i % q.blockSize;
      const byte = q.packed[(r * q.kBlocks + b) * blob + (j >> 1)];
      const code = j & 1 ? byte >> 4 : byte & 15;
      w[r * k + i] = (code - 8) * q.scales[r * q.kBlocks + b];
    }
  }
  return w;
}
