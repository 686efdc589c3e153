/**
 * A minimal ONNX writer: a protobuf encoder for the ModelProto subset we emit
 * and a small graph builder. No dependency, runs in the browser.
 * Field numbers follow onnx/onnx.proto (IR version 8, opset 17).
 */

export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

/** protobuf wire format, append-only. */
class Pb {
  private chunks: Uint8Array[] = [];
  private cur: number[] = [];
  length = 0;
  private flush() { if (this.cur.length) { this.chunks.push(new Uint8Array(this.cur)); this.cur = []; } }
  private byte(b: number) { this.cur.push(b); this.length++; }
  varint(v: number | bigint) {
    let x = BigInt.asUintN(64, BigInt(v));
    if (typeof v === 'number' && v >= 0 && v < 2 ** 31) {
      let n = v;
      while (n > 0x7f) { this.byte((n & 0x7f) | 0x80); n >>>= 7; }
      this.byte(n);
      return this;
    }
    while (x > 0x7fn) { this.byte(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    this.byte(Number(x));
    return this;
  }
  tag(field: number, wire: number) { return this.varint((field << 3) | wire); }
  int(field: number, v: number | bigint) { return this.tag(field, 0).varint(v); }
  float(field: number, v: number) {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.byte(x);
    return this;
  }
  bytes(field: number, data: Uint8Array) {
    this.tag(field, 2).varint(data.length);
    this.flush();
    this.chunks.push(data);
    this.length += data.length;
    return this;
  }
  str(field: number, s: string) { return this.bytes(field, new TextEncoder().encode(s)); }
  msg(field: number, m: Pb) {
    this.tag(field, 2).varint(m.length);
    this.flush();
    m.flush();
    this.chunks.push(...m.chunks);
    this.length += m.length;
    return this;
  }
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
}

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | TensorInit;

export interface TensorInit {
  name: string;
  dataType: DataTypeId;
  dims: number[];
  /** Little-endian raw bytes. */
  raw: Uint8Array;
}

export interface NodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

/** A dimension is a fixed size or a symbolic name (e.g. 'batch'). */
export type Dim = number | string;
export interface ValueInfo { name: string; dataType: DataTypeId; dims: Dim[] }

const isTensorInit = (v: AttrValue): v is TensorInit => typeof v === 'object' && v !== null && 'raw' in v;

function encodeTensor(t: TensorInit): Pb {
  const m = new Pb();
  for (const d of t.dims) m.int(1, d);
  m.int(2, t.dataType);
  m.str(8, t.name);
  m.bytes(9, t.raw);
  return m;
}

function encodeAttr(name: string, v: AttrValue): Pb {
  const a = new Pb();
  a.str(1, name);
  // AttributeProto.type: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7
  if (typeof v === 'number') a.int(3, v).int(20, 2);
  else if (typeof v === 'string') a.str(4, v).int(20, 3);
  else if (Array.isArray(v)) { for (const x of v) a.int(8, x); a.int(20, 7); }
  else if (isTensorInit(v)) a.msg(5, encodeTensor(v)).int(20, 4);
  else if ('float' in v) a.float(2, v.float).int(20, 1);
  else { for (const x of v.floats) a.float(7, x); a.int(20, 6); }
  return a;
}

function encodeValueInfo(v: ValueInfo): Pb {
  const shape = new Pb();
  for (const d of v.dims) shape.msg(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().str(2, d));
  const tensorType = new Pb().int(1, v.dataType).msg(2, shape);
  return new Pb().str(1, v.name).msg(2, new Pb().msg(1, tensorType));
}

/**
 * Graph builder: `op()` returns generated output names, so graph code reads
 * like the math. Initializers are added once and can be referenced many
 * times (the fused step graph reuses one set of block weights).
 */
export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorInit[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private counter = 0;
  private consts = new Map<string, string>();
  usesMicrosoftDomain = false;

  constructor(readonly name: string) {}

  fresh(hint: string) { return `${hint}_${this.counter++}`; }

  input(name: string, dataType: DataTypeId, dims: Dim[]) { this.inputs.push({ name, dataType, dims }); return name; }
  output(name: string, dataType: DataTypeId, dims: Dim[]) { this.outputs.push({ name, dataType, dims }); }

  init(name: string, dataType: DataTypeId, dims: number[], raw: Uint8Array) {
    this.initializers.push({ name, dataType, dims, raw });
    return name;
  }
  f32(name: string, dims: number[], data: Float32Array) { return this.init(name, DataType.FLOAT, dims, f32bytes(data)); }
  /** Small constants, de-duplicated by value. */
  i64(values: number[]) { return this.cached(`i64:${values}`, () => this.init(this.fresh('const_i64'), DataType.INT64, [values.length], i64bytes(values))); }
  scalarF32(v: number) { return this.cached(`f32:${v}`, () => this.init(this.fresh('const_f32'), DataType.FLOAT, [], f32bytes(Float32Array.of(v)))); }
  private cached(key: string, make: () => string) {
    let n = this.consts.get(key);
    if (!n) { n = make(); this.consts.set(key, n); }
    return n;
  }

  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, opts: { outputs?: number | string[]; domain?: string; hint?: string } = {}): string[] {
    const outs = Array.isArray(opts.outputs) ? opts.outputs : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(opts.hint ?? op));
    if (opts.domain === 'com.microsoft') this.usesMicrosoftDomain = true;
    this.nodes.push({ op, inputs, outputs: outs, name: this.fresh(`n_${op}`), domain: opts.domain, attrs });
    return outs;
  }
  /** Single-output shorthand. */
  o(op: string, inputs: string[], attrs?: Record<string, AttrValue>, opts: { output?: string; domain?: string } = {}): string {
    return this.op(op, inputs, attrs, { outputs: opts.output ? [opts.output] : 1, domain: opts.domain })[0];
  }

  /** Serialises to an ONNX ModelProto. */
  toModel(producer = 'trm-studio'): Uint8Array {
    const g = new Pb();
    for (const n of this.nodes) {
      const m = new Pb();
      for (const i of n.inputs) m.str(1, i);
      for (const o of n.outputs) m.str(2, o);
      m.str(3, n.name).str(4, n.op);
      for (const [k, v] of Object.entries(n.attrs ?? {})) m.msg(5, encodeAttr(k, v));
      if (n.domain) m.str(7, n.domain);
      g.msg(1, m);
    }
    g.str(2, this.name);
    for (const t of this.initializers) g.msg(5, encodeTensor(t));
    for (const v of this.inputs) g.msg(11, encodeValueInfo(v));
    for (const v of this.outputs) g.msg(12, encodeValueInfo(v));
    const model = new Pb().int(1, 8).str(2, producer).str(3, '1').msg(7, g).msg(8, new Pb().str(1, '').int(2, 17));
    if (this.usesMicrosoftDomain) model.msg(8, new Pb().str(1, 'com.microsoft').int(2, 1));
    return model.finish();
  }
}

export function f32bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength); // the platforms we target are little-endian
}

export function i64bytes(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setBigInt64(8 * i, BigInt(v), true));
  return b;
}
