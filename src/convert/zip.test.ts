import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotAZipError, TruncatedFileError } from './errors.ts';
import { bytesSource, blobSource } from './source.ts';
import { crc32, openZip, writeStoredZip } from './zip.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/trm-upstream-h64/step_0');
const concat = (chunks: Uint8Array[]) => Uint8Array.from(Buffer.concat(chunks));

describe('zip reader', () => {
  it('reads the torch-written fixture (ZIP64 end record, 64-byte aligned stored entries)', async () => {
    const bytes = new Uint8Array(await readFile(FIXTURE));
    const zip = await openZip(bytesSource(bytes, 'step_0'));
    expect(zip.entries.map((e) => e.name)).toContain('step_0/data.pkl');
    expect(zip.entries).toHaveLength(17); // data.pkl, data/0..14, version
    for (const e of zip.entries) {
      expect(e.method).toBe(0);
      const off = await zip.dataOffset(e);
      if (e.name.includes('/data/')) expect(off % 64).toBe(0);
      expect(crc32(await zip.read(e))).toBe(e.crc32);
    }
    expect(new TextDecoder().decode(await zip.read(zip.entries.find((e) => e.name.endsWith('version'))!)).trim()).toBe('3');
  });

  it('round-trips its own writer through a Blob (the browser path)', async () => {
    const files = [{ name: 'a/x', data: Uint8Array.of(1, 2, 3) }, { name: 'a/y', data: new Uint8Array(1000).fill(7) }];
    const zip = await openZip(blobSource(new Blob([concat(writeStoredZip(files))]), 'w.zip'));
    expect(zip.entries.map((e) => e.name)).toEqual(['a/x', 'a/y']);
    expect([...(await zip.read(zip.entries[0]))]).toEqual([1, 2, 3]);
    expect(await zip.dataOffset(zip.entries[1]) % 64).toBe(0);
    expect((await zip.read(zip.entries[1])).every((b) => b === 7)).toBe(true);
  });

  it('refuses a file that is not a zip', async () => {
    await expect(openZip(bytesSource(new TextEncoder().encode('{"not": "a zip"}'), 'x.json'))).rejects.toThrow(NotAZipError);
    await expect(openZip(bytesSource(new Uint8Array(2), 'tiny'))).rejects.toThrow(NotAZipError);
  });

  it('reports truncation: cut tail (no directory) and entries past the end', async () => {
    const bytes = new Uint8Array(await readFile(FIXTURE));
    await expect(openZip(bytesSource(bytes.subarray(0, bytes.length - 100), 'cut'))).rejects.toThrow(TruncatedFileError);
    await expect(openZip(bytesSource(bytes.subarray(0, 300000), 'cut'))).rejects.toThrow(/truncated/);
    // Directory intact but an entry claims more bytes than the file has.
    const chunks = writeStoredZip([{ name: 'a/x', data: new Uint8Array(100) }]);
    const bad = concat(chunks);
    const dv = new DataView(bad.buffer);
    const central = bad.length - 22 - (46 + 3);
    dv.setUint32(central + 20, 10_000, true);
    dv.setUint32(central + 24, 10_000, true);
    const zip = await openZip(bytesSource(bad, 'bad.zip'));
    await expect(zip.read(zip.entries[0])).rejects.toThrow(TruncatedFileError);
  });
});
