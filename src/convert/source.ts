/**
 * Random access to a (possibly multi-GB) file without loading it: the
 * converter reads only zip directories, data.pkl, weight entries and the
 * puzzle-table rows it needs. Isomorphic: Blob/File here, Node files in
 * node-source.ts.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Display name for error messages. */
  readonly name: string;
  /** Exactly `length` bytes at `offset`; throws RangeError past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

function checkRange(src: ByteSource, offset: number, length: number) {
  if (offset < 0 || length < 0 || offset + length > src.size) {
    throw new RangeError(`${src.name}: read of ${length} bytes at ${offset} is past the end (${src.size} bytes)`);
  }
}

export function blobSource(blob: Blob, name = (blob as File).name ?? 'blob'): ByteSource {
  const src: ByteSource = {
    size: blob.size,
    name,
    async read(offset, length) {
      checkRange(src, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
  return src;
}

export function bytesSource(bytes: Uint8Array, name = 'bytes'): ByteSource {
  const src: ByteSource = {
    size: bytes.length,
    name,
    async read(offset, length) {
      checkRange(src, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
  return src;
}
