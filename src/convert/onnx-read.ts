/**
 * Reads the initializers back out of an ONNX ModelProto: the fp32 forward
 * graphs hold the only copy of a converted model's weights, and whole-network
 * fine-tuning (src/fit/fit-full.ts) starts from them. Only the subset our own
 * writer (onnx.ts) produces is supported: tensors with raw_data. Isomorphic.
 */
import type { DataTypeId } from './onnx.ts';

export interface ReadTensor {
  name: string;
  dataType: DataTypeId;
  dims: number[];
  /** Little-endian raw bytes (a view into the model bytes). */
  raw: Uint8Array;
}

export class OnnxReadError extends Error {
  constructor(message: string) { super(message); this.name = 'OnnxReadError'; }
}

class Reader {
  pos: number;
  constructor(readonly b: Uint8Array, readonly start: number, readonly end: number) { this.pos = start; }
  varint(): number {
    let v = 0, mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new OnnxReadError('truncated varint');
      const x = this.b[this.pos++];
      v += (x & 0x7f) * mul; // multiplication, not <<: field lengths can exceed 2^31
      if (!(x & 0x80)) return v;
      mul *= 128;
    }
  }
  /** Next field: [field number, wire type, sub-reader for length-delimited or the varint value]. */
  field(): [number, number, Reader | number] {
    const key = this.varint(), field = Math.floor(key / 8), wire = key & 7;
    switch (wire) {
      case 0: return [field, wire, this.varint()];
      case 1: this.pos += 8; return [field, wire, 0];
      case 5: this.pos += 4; return [field, wire, 0];
      case 2: {
        const len = this.varint(), s = this.pos;
        if (s + len > this.end) throw new OnnxReadError('truncated field');
        this.pos += len;
        return [field, wire, new Reader(this.b, s, s + len)];
      }
      default: throw new OnnxReadError(`unsupported protobuf wire type ${wire}`);
    }
  }
  get done() { return this.pos >= this.end; }
  bytes() { return this.b.subarray(this.start, this.end); }
}

function readTensor(r: Reader): ReadTensor {
  const t: ReadTensor = { name: '', dataType: 0 as DataTypeId, dims: [], raw: new Uint8Array(0) };
  let hasRaw = false;
  while (!r.done) {
    const [f, wire, v] = r.field();
    if (f === 1 && wire === 0) t.dims.push(v as number);
    else if (f === 1 && wire === 2) { const p = v as Reader; while (!p.done) t.dims.push(p.varint()); } // packed dims
    else if (f === 2) t.dataType = v as DataTypeId;
    else if (f === 8) t.name = new TextDecoder().decode((v as Reader).bytes());
    else if (f === 9) { t.raw = (v as Reader).bytes(); hasRaw = true; }
  }
  if (!hasRaw && t.dims.reduce((a, b) => a * b, 1) > 0) throw new OnnxReadError(`initializer "${t.name}" has no raw_data (only raw tensors are supported)`);
  return t;
}

/** Every initializer of the model's main graph, by name. */
export function readInitializers(model: Uint8Array): Map<string, ReadTensor> {
  const out = new Map<string, ReadTensor>();
  const top = new Reader(model, 0, model.length);
  while (!top.done) {
    const [f, , v] = top.field();
    if (f !== 7) continue; // ModelProto.graph
    const g = v as Reader;
    while (!g.done) {
      const [gf, , gv] = g.field();
      if (gf === 5) { const t = readTensor(gv as Reader); out.set(t.name, t); } // GraphProto.initializer
    }
  }
  return out;
}

/** A float32 initializer as a copy (raw bytes need not be 4-aligned inside the model). */
export function initializerF32(inits: Map<string, ReadTensor>, name: string, file: string): { dims: number[]; data: Float32Array } {
  const t = inits.get(name);
  if (!t) throw new OnnxReadError(`${file}: no initializer "${name}" (not an fp32 graph written by trm convert?)`);
  if (t.dataType !== 1) throw new OnnxReadError(`${file}: initializer "${name}" has data type ${t.dataType}, expected float32`);
  return { dims: t.dims, data: new Float32Array(Uint8Array.from(t.raw).buffer) };
}
