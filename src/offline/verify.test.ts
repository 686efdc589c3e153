import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyCachedModel, type CacheReader } from './verify.ts';

const dir = resolve(import.meta.dirname, '../../models/golden-h64');
const BASE = 'http://localhost/models/golden-h64/';
const manifest = JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')) as { name: string; files: { path: string; bytes: number }[] };

/** A cache holding the repo's real model files under their URLs, with optional damage. */
function cacheOf(change: (path: string, data: Uint8Array) => Uint8Array | undefined = (_, d) => d): CacheReader {
  return {
    async match(url) {
      const path = url.slice(BASE.length);
      const data = change(path, new Uint8Array(readFileSync(resolve(dir, path))));
      return data && new Response(data as Uint8Array<ArrayBuffer>);
    },
  };
}

describe('verifyCachedModel', () => {
  it('hashes every file the manifest lists and reports them', async () => {
    const v = await verifyCachedModel(cacheOf(), `${BASE}manifest.json`);
    expect(v).toEqual({
      url: `${BASE}manifest.json`, name: manifest.name, files: manifest.files.length,
      bytes: manifest.files.reduce((n, f) => n + f.bytes, 0),
    });
  });

  it('names a damaged file', async () => {
    const damaged = cacheOf((path, d) => {
      if (path === 'readout.onnx') d[100] ^= 1;
      return d;
    });
    await expect(verifyCachedModel(damaged, `${BASE}manifest.json`)).rejects.toThrow(/offline copy damaged: readout\.onnx has sha256/);
  });

  it('names a missing file', async () => {
    const missing = cacheOf((path, d) => (path === 'embed.onnx' ? undefined : d));
    await expect(verifyCachedModel(missing, `${BASE}manifest.json`)).rejects.toThrow(/offline copy incomplete: embed\.onnx/);
  });
});
