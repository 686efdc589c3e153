/**
 * Minimal zip reader/writer for torch checkpoints. torch stores every entry
 * uncompressed (method 0), so an entry is just a byte range of the file and
 * tensors can be read by random access. ZIP64 records are honoured because
 * multi-GB checkpoints need them.
 */
import { NotAZipError, NotACheckpointError, TruncatedFileError } from './errors.ts';
import type { ByteSource } from './source.ts';

export interface ZipEntry {
  name: string;
  /** 0 = stored. */
  method: number;
  size: number;
  compressedSize: number;
  crc32: number;
  /** Offset of the local header. */
  localOffset: number;
}

export interface ZipArchive {
  source: ByteSource;
  entries: ZipEntry[];
  /** Absolute byte offset of a stored entry's payload (reads its local header). */
  dataOffset(e: ZipEntry): Promise<number>;
  /** The whole payload of a stored entry. */
  read(e: ZipEntry): Promise<Uint8Array>;
}

const SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50, SIG_LOC64 = 0x07064b50;
const U32_MAX = 0xffffffff;

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const u64 = (v: DataView, o: number) => Number(v.getBigUint64(o, true));

export async function openZip(src: ByteSource): Promise<ZipArchive> {
  if (src.size < 4) throw new NotAZipError(`${src.name}: not a zip file (only ${src.size} bytes)`);
  const head = view(await src.read(0, 4));
  const looksLikeZip = head.getUint32(0, true) === SIG_LOCAL;
  if (!looksLikeZip) throw new NotAZipError(`${src.name}: not a zip file (torch checkpoints are zip archives; the file does not start with PK\\x03\\x04)`);

  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  const tailLen = Math.min(src.size, 22 + 0xffff + 20);
  const tailStart = src.size - tailLen;
  const tail = await src.read(tailStart, tailLen);
  const tv = view(tail);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) if (tv.getUint32(i, true) === SIG_EOCD) { eocd = i; break; }
  if (eocd < 0) throw new TruncatedFileError(`${src.name}: truncated zip (no end-of-central-directory record; the download may be incomplete)`);

  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  if (eocd >= 20 && tv.getUint32(eocd - 20, true) === SIG_LOC64) {
    const off64 = u64(tv, eocd - 20 + 8);
    if (off64 + 56 > src.size) throw new TruncatedFileError(`${src.name}: truncated zip (ZIP64 record at ${off64} is past the end)`);
    const z = view(await src.read(off64, 56));
    if (z.getUint32(0, true) !== SIG_EOCD64) throw new NotAZipError(`${src.name}: corrupt ZIP64 end record`);
    count = u64(z, 32);
    cdSize = u64(z, 40);
    cdOffset = u64(z, 48);
  }
  if (cdOffset + cdSize > src.size) throw new TruncatedFileError(`${src.name}: truncated zip (central directory ends at ${cdOffset + cdSize}, file has ${src.size} bytes)`);

  const cd = await src.read(cdOffset, cdSize);
  const cv = view(cd);
  const dec = new TextDecoder();
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cv.getUint32(p, true) !== SIG_CENTRAL) throw new NotAZipError(`${src.name}: corrupt central directory at entry ${i}`);
    const nameLen = cv.getUint16(p + 28, true), extraLen = cv.getUint16(p + 30, true), commentLen = cv.getUint16(p + 32, true);
    const e: ZipEntry = {
      name: dec.decode(cd.subarray(p + 46, p + 46 + nameLen)),
      method: cv.getUint16(p + 10, true),
      crc32: cv.getUint32(p + 16, true),
      compressedSize: cv.getUint32(p + 20, true),
      size: cv.getUint32(p + 24, true),
      localOffset: cv.getUint32(p + 42, true),
    };
    // ZIP64 extended information: only the fields saturated in the fixed record are present, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cv.getUint16(x, true), len = cv.getUint16(x + 2, true);
      if (id === 0x0001) {
        let f = x + 4;
        if (e.size === U32_MAX) { e.size = u64(cv, f); f += 8; }
        if (e.compressedSize === U32_MAX) { e.compressedSize = u64(cv, f); f += 8; }
        if (e.localOffset === U32_MAX) { e.localOffset = u64(cv, f); f += 8; }
      }
      x += 4 + len;
    }
    entries.push(e);
    p = xEnd + commentLen;
  }

  const dataOffset = async (e: ZipEntry) => {
    if (e.localOffset + 30 > src.size) throw new TruncatedFileError(`${src.name}: truncated zip (entry ${e.name} starts past the end)`);
    const lh = view(await src.read(e.localOffset, 30));
    if (lh.getUint32(0, true) !== SIG_LOCAL) throw new NotAZipError(`${src.name}: corrupt local header for ${e.name}`);
    const start = e.localOffset + 30 + lh.getUint16(26, true) + lh.getUint16(28, true);
    if (start + e.compressedSize > src.size) {
      throw new TruncatedFileError(`${src.name}: truncated file (entry ${e.name} needs bytes up to ${start + e.compressedSize}, file has ${src.size})`);
    }
    return start;
  };
  return {
    source: src,
    entries,
    dataOffset,
    async read(e) {
      if (e.method !== 0) throw new NotACheckpointError(`${src.name}: entry ${e.name} is compressed (method ${e.method}); torch checkpoints store entries uncompressed`);
      return src.read(await dataOffset(e), e.size);
    },
  };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A stored (uncompressed) zip with every payload aligned to 64 bytes, the way
 * torch.save writes it (padding goes into an extra field). Returns the file
 * as chunks so large payloads are never copied.
 */
export function writeStoredZip(files: { name: string; data: Uint8Array }[]): Uint8Array[] {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const name = enc.encode(f.name);
    const crc = crc32(f.data);
    const base = 30 + name.length + 4; // local header + name + extra-field header
    const pad = (64 - ((offset + base) % 64)) % 64;
    const local = new Uint8Array(base + pad);
    const lv = view(local);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, f.data.length, true);
    lv.setUint32(22, f.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, 4 + pad, true);
    local.set(name, 30);
    lv.setUint16(30 + name.length, 0x4246, true); // 'FB', torch's padding field id
    lv.setUint16(32 + name.length, pad, true);
    local.fill(0x5a, base); // 'Z' filler, as torch writes
    const c = new Uint8Array(46 + name.length);
    const cv = view(c);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, f.data.length, true);
    cv.setUint32(24, f.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    c.set(name, 46);
    central.push(c);
    chunks.push(local, f.data);
    offset += local.length + f.data.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = view(eocd);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return [...chunks, ...central, eocd];
}
