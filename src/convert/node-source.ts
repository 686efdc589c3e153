/** ByteSource over a file on disk (Node only; the browser uses blobSource). */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ByteSource } from './source.ts';

export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

export async function fileSource(path: string): Promise<FileSource> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    size,
    name: basename(path),
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new RangeError(`${path}: read of ${length} bytes at ${offset} is past the end (${size} bytes)`);
      }
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new RangeError(`${path}: unexpected end of file at ${offset + done}`);
        done += bytesRead;
      }
      return buf;
    },
    close: () => fh.close(),
  };
}
