/**
 * Torch zip checkpoints as tensor references: data.pkl is unpickled into
 * {key → dtype, shape, stride, storage entry}; tensor bytes are read lazily,
 * and the puzzle table only row by row.
 */
import { KeyMismatchError, NotACheckpointError, ShapeMismatchError, UnsupportedDtypeError } from './errors.ts';
import { unpickle, PickleWriter, type PyCall, type PyGlobal, type PyPersistent, type PyValue } from './pickle.ts';
import type { ByteSource } from './source.ts';
import { openZip, writeStoredZip, type ZipArchive, type ZipEntry } from './zip.ts';

export type TensorDtype = 'float32' | 'bfloat16' | 'float16';
const STORAGE_DTYPES: Record<string, TensorDtype> = { FloatStorage: 'float32', BFloat16Storage: 'bfloat16', HalfStorage: 'float16' };
const ITEM_SIZE: Record<TensorDtype, number> = { float32: 4, bfloat16: 2, float16: 2 };

export interface TensorRef {
  /** Key without the checkpoint prefix. */
  key: string;
  dtype: TensorDtype;
  shape: number[];
  stride: number[];
  storageOffset: number;
  entry: ZipEntry;
}

export interface Checkpoint {
  source: ByteSource;
  archive: ZipArchive;
  /** The stripped key prefix: '_orig_mod.model.inner.', 'model.inner.' or ''. */
  prefix: string;
  tensors: Map<string, TensorRef>;
}

/** Known upstream prefixes, longest first. */
export const KEY_PREFIXES = ['_orig_mod.model.inner.', 'model.inner.', ''] as const;

const isCall = (v: PyValue, name: string): v is PyCall =>
  typeof v === 'object' && v !== null && (v as PyCall).kind === 'call' && (v as PyCall).func.name === name;

export async function openCheckpoint(src: ByteSource): Promise<Checkpoint> {
  const archive = await openZip(src);
  const pkl = archive.entries.find((e) => e.name === 'data.pkl' || e.name.endsWith('/data.pkl'));
  if (!pkl) throw new NotACheckpointError(`${src.name}: a zip, but not a torch checkpoint (no data.pkl entry)`);
  const root = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const byName = new Map(archive.entries.map((e) => [e.name, e]));
  const top = unpickle(await archive.read(pkl), `${src.name}:${pkl.name}`);
  if (!(top instanceof Map)) throw new NotACheckpointError(`${src.name}: data.pkl does not hold a state dict (top level is not a dict)`);

  const raw = new Map<string, TensorRef>();
  for (const [k, v] of top) {
    if (typeof k !== 'string') throw new NotACheckpointError(`${src.name}: state dict has a non-string key`);
    let t = v;
    if (isCall(t, '_rebuild_parameter')) t = t.args[0];
    if (!isCall(t, '_rebuild_tensor_v2')) {
      throw new NotACheckpointError(`${src.name}: state dict entry "${k}" is not a tensor (a training-state wrapper? pass the bare model state dict)`);
    }
    const [storage, offset, size, stride] = t.args;
    const pid = (storage as PyPersistent)?.id;
    if (!Array.isArray(pid) || pid[0] !== 'storage') throw new NotACheckpointError(`${src.name}: tensor "${k}" has no storage reference`);
    const stype = (pid[1] as PyGlobal).name;
    const dtype = STORAGE_DTYPES[stype];
    if (!dtype) throw new UnsupportedDtypeError(`${src.name}: tensor "${k}" has dtype ${stype.replace('Storage', '')}; supported: float32, bfloat16, float16`);
    const entry = byName.get(`${root}data/${pid[2]}`);
    if (!entry) throw new NotACheckpointError(`${src.name}: tensor "${k}" refers to missing entry ${root}data/${pid[2]}`);
    raw.set(k, { key: k, dtype, shape: (size as number[]).map(Number), stride: (stride as number[]).map(Number), storageOffset: Number(offset), entry });
  }
  const keys = [...raw.keys()];
  const prefix = KEY_PREFIXES.find((p) => keys.length > 0 && keys.every((k) => k.startsWith(p)))!;
  const tensors = new Map<string, TensorRef>();
  for (const [k, t] of raw) tensors.set(k.slice(prefix.length), { ...t, key: k.slice(prefix.length) });
  return { source: src, archive, prefix, tensors };
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function isContiguous(t: TensorRef) {
  let s = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== s) return false;
    s *= t.shape[i];
  }
  return true;
}

/** Decodes little-endian storage bytes of any supported dtype to float32. */
export function toFloat32(bytes: Uint8Array, dtype: TensorDtype): Float32Array {
  const n = bytes.length / ITEM_SIZE[dtype];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (dtype === 'float32') for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  else if (dtype === 'bfloat16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16; // bf16 → f32 is exact
  } else for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
  return out;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

async function storageBytes(ck: Checkpoint, t: TensorRef, firstElem: number, count: number): Promise<Uint8Array> {
  const item = ITEM_SIZE[t.dtype];
  const end = (firstElem + count) * item;
  if (end > t.entry.size) {
    throw new ShapeMismatchError(`${ck.source.name}: tensor "${t.key}" [${t.shape}] needs ${end} bytes of storage, entry ${t.entry.name} has ${t.entry.size}`);
  }
  const base = await ck.archive.dataOffset(t.entry);
  return ck.source.read(base + firstElem * item, count * item);
}

/** The whole tensor as float32, honouring storage offset and strides. */
export async function readTensor(ck: Checkpoint, t: TensorRef): Promise<Float32Array> {
  const n = numel(t.shape);
  if (isContiguous(t)) return toFloat32(await storageBytes(ck, t, t.storageOffset, n), t.dtype);
  let span = 1;
  for (let i = 0; i < t.shape.length; i++) span += (t.shape[i] - 1) * t.stride[i];
  const all = toFloat32(await storageBytes(ck, t, t.storageOffset, span), t.dtype);
  const out = new Float32Array(n);
  const idx = new Array(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < idx.length; d++) off += idx[d] * t.stride[d];
    out[i] = all[off];
    for (let d = idx.length - 1; d >= 0 && ++idx[d] === t.shape[d]; d--) idx[d] = 0;
  }
  return out;
}

/**
 * Selected rows of a 2-D tensor as float32 [rows.length, width]. Runs of
 * consecutive rows are read in one go; nothing else of the table is touched.
 */
export async function readRows(ck: Checkpoint, t: TensorRef, rows: number[]): Promise<Float32Array> {
  if (t.shape.length !== 2) throw new ShapeMismatchError(`${ck.source.name}: "${t.key}" is not a 2-D table`);
  const [n, w] = t.shape;
  const out = new Float32Array(rows.length * w);
  if (t.stride[1] !== 1 && w > 1) {
    const all = await readTensor(ck, t);
    rows.forEach((r, i) => out.set(all.subarray(r * w, r * w + w), i * w));
    return out;
  }
  const order = rows.map((r, i) => [r, i]).sort((a, b) => a[0] - b[0]);
  for (let a = 0; a < order.length;) {
    let b = a + 1;
    // Contiguous runs (stride[0] === width) coalesce into one read.
    while (b < order.length && order[b][0] === order[b - 1][0] + 1 && t.stride[0] === w && b - a < 4096) b++;
    const first = order[a][0];
    if (first < 0 || order[b - 1][0] >= n) throw new RangeError(`row ${first < 0 ? first : order[b - 1][0]} outside "${t.key}" [${n}, ${w}]`);
    const vals = toFloat32(await storageBytes(ck, t, t.storageOffset + first * t.stride[0], (b - a - 1) * t.stride[0] + w), t.dtype);
    for (let j = a; j < b; j++) out.set(vals.subarray((order[j][0] - first) * t.stride[0], (order[j][0] - first) * t.stride[0] + w), order[j][1] * w);
    a = b;
  }
  return out;
}

/** Requires exactly these keys (after the prefix): names both the missing and the unexpected ones. */
export function checkKeys(ck: Checkpoint, expected: Iterable<string>) {
  const want = new Set(expected);
  const missing = [...want].filter((k) => !ck.tensors.has(k));
  const extra = [...ck.tensors.keys()].filter((k) => !want.has(k));
  if (missing.length || extra.length) {
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.map((k) => ck.prefix + k).join(', ')}`);
    if (extra.length) parts.push(`unexpected ${extra.map((k) => ck.prefix + k).join(', ')}`);
    throw new KeyMismatchError(`${ck.source.name}: state dict keys do not match a TRM model: ${parts.join('; ')}`);
  }
}

export interface TensorToWrite { key: string; dtype: TensorDtype; shape: number[]; data: Float32Array }

/**
 * Writes a flat state dict the way torch.save does (zip of data.pkl + one
 * storage entry per tensor, protocol-2 pickle, plain-dict top level).
 */
export function writeCheckpoint(archiveName: string, tensors: TensorToWrite[]): Uint8Array[] {
  const w = new PickleWriter();
  w.op(0x7d).mark(); // EMPTY_DICT, MARK
  const storages: { name: string; data: Uint8Array }[] = [];
  tensors.forEach((t, i) => {
    const n = numel(t.shape);
    if (t.data.length !== n) throw new RangeError(`writeCheckpoint: ${t.key} has ${t.data.length} values for shape [${t.shape}]`);
    const stride = t.shape.map((_, d) => numel(t.shape.slice(d + 1)));
    w.str(t.key).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', t.dtype === 'float32' ? 'FloatStorage' : t.dtype === 'bfloat16' ? 'BFloat16Storage' : 'HalfStorage');
    w.str(String(i)).str('cpu').int(n).op(0x74, 0x51); // TUPLE, BINPERSID
    w.int(0).tuple(t.shape).tuple(stride).op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52, 0x74, 0x52); // False, OrderedDict(), TUPLE, REDUCE
    storages.push({ name: `${archiveName}/data/${i}`, data: encodeTensor(t.data, t.dtype) });
  });
  w.op(0x75); // SETITEMS
  return writeStoredZip([
    { name: `${archiveName}/data.pkl`, data: w.bytes() },
    ...storages,
    { name: `${archiveName}/version`, data: new TextEncoder().encode('3\n') },
  ]);
}

function encodeTensor(data: Float32Array, dtype: TensorDtype): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.length * 2);
  const dv = new DataView(out.buffer);
  const u = new Uint32Array(Float32Array.from(data).buffer);
  for (let i = 0; i < data.length; i++) {
    if (dtype === 'bfloat16') {
      const x = u[i];
      dv.setUint16(2 * i, ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff, true); // round to nearest even
    } else dv.setUint16(2 * i, floatToHalf(data[i]), true);
  }
  return out;
}

/** float32 → IEEE half, round to nearest even (shared with the fp16 graph writer). */
export function floatToHalf(f: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, f);
  const x = buf.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const e = (x >>> 23) & 0xff;
  let m = x & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  let exp = e - 127 + 15;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    m |= 0x800000;
    const shift = 14 - exp;
    const half = 1 << (shift - 1);
    let r = m >> shift;
    const rem = m & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = m >> 13;
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) { r++; if (r === 0x400) { r = 0; exp++; if (exp >= 31) return sign | 0x7c00; } }
  return sign | (exp << 10) | r;
}
