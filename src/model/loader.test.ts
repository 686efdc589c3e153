import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IntegrityError, ManifestError, ModelFetchError } from '../engine/errors.ts';
import type { LoadProgress, Notice } from '../engine/protocol.ts';
import { fileKey, MemoryStore, type FileStore } from './cache.ts';
import { ModelSource, parseManifest } from './loader.ts';
import { sha256Hex } from './sha256.ts';
import { MANIFEST_FORMAT, type Manifest } from './manifest.ts';

const config = {
  hidden_size: 8, num_heads: 1, expansion: 4, intermediate_size: 256, L_layers: 2, H_cycles: 3, L_cycles: 4, halt_max_steps: 16,
  puzzle_emb_len: 16, puzzle_emb_ndim: 8, vocab_size: 12, grid_size: 30, seq_len: 900, rope_theta: 10000, rms_norm_eps: 1e-5,
  num_puzzle_identifiers: 3,
};

const dir = mkdtempSync(join(tmpdir(), 'trm-loader-'));
const requests: string[] = [];
let server: Server;
let base = '';

function writeModel(files: Record<string, Uint8Array>) {
  const list = Object.entries(files).map(([path, data]) => {
    writeFileSync(join(dir, path), data);
    return { path, bytes: data.byteLength, sha256: createHash('sha256').update(data).digest('hex') };
  });
  const manifest: Manifest = {
    format: MANIFEST_FORMAT, name: 'loader-test', created: '2026-11-28', source: {}, config, files: list,
    graphs: { embed: 'embed.onnx', readout: 'readout.onnx', block: { fp32: 'block.onnx' } },
    puzzles: { blank: true, tasks: {} },
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return manifest;
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

beforeAll(async () => {
  writeModel({ 'embed.onnx': bytes(5000, 1), 'block.onnx': bytes(70000, 2), 'readout.onnx': bytes(300, 3) });
  server = createServer((req, res) => {
    requests.push(req.url!);
    try {
      res.end(readFileSync(join(dir, req.url!.slice(1))));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ModelSource', () => {
  test('downloads with byte progress, verifies, then serves a second load from the cache only', async () => {
    const store = new MemoryStore();
    requests.length = 0;
    const cold = await ModelSource.open(`${base}/manifest.json`, { store });
    const progress: LoadProgress[] = [];
    const files = await cold.files(['embed.onnx', 'block.onnx', 'readout.onnx'], (p) => progress.push(p));
    expect(files.get('block.onnx')).toEqual(bytes(70000, 2));
    expect(requests).toEqual(['/manifest.json', '/embed.onnx', '/block.onnx', '/readout.onnx']);
    const last = progress.at(-1)!;
    expect(last.loaded).toBe(75300);
    expect(last.total).toBe(75300);
    expect(progress.every((p) => !p.fromCache && p.loaded <= p.total)).toBe(true);
    expect(cold.networkBytes).toBeGreaterThan(75300);

    requests.length = 0;
    const warm = await ModelSource.open(`${base}/manifest.json`, { store });
    const cached: LoadProgress[] = [];
    await warm.files(['embed.onnx', 'block.onnx', 'readout.onnx'], (p) => cached.push(p));
    expect(requests).toEqual([]);
    expect(warm.networkBytes).toBe(0);
    expect(cached.every((p) => p.fromCache)).toBe(true);
  });

  test('a corrupted cached file is detected, reported and downloaded again', async () => {
    const store: FileStore = new MemoryStore();
    const source = await ModelSource.open(`${base}/manifest.json`, { store });
    await source.file('block.onnx');
    const entry = source.entry('block.onnx');
    const bad = bytes(70000, 2);
    bad[1234] ^= 1;
    await store.set(fileKey(entry.sha256), bad, 'block.onnx');

    const notices: Notice[] = [];
    requests.length = 0;
    const again = await ModelSource.open(`${base}/manifest.json`, { store, onNotice: (n) => notices.push(n) });
    expect(await again.file('block.onnx')).toEqual(bytes(70000, 2));
    expect(notices).toEqual([{ kind: 'cache-repaired', file: 'block.onnx' }]);
    expect(requests).toEqual(['/block.onnx']);
    expect(await sha256Hex((await store.get(fileKey(entry.sha256)))!)).toBe(entry.sha256);
  });

  test('a file that differs from the manifest on the server is an IntegrityError after one retry', async () => {
    const store = new MemoryStore();
    const source = await ModelSource.open(`${base}/manifest.json`, { store, revalidate: true });
    const original = readFileSync(join(dir, 'readout.onnx'));
    writeFileSync(join(dir, 'readout.onnx'), bytes(300, 9));
    requests.length = 0;
    try {
      await expect(source.file('readout.onnx')).rejects.toThrow(IntegrityError);
      expect(requests).toEqual(['/readout.onnx', '/readout.onnx']);
      expect(await store.status()).toEqual({ files: 1, bytes: expect.any(Number) }); // only the manifest
    } finally {
      writeFileSync(join(dir, 'readout.onnx'), original);
    }
  });

  test('HTTP errors and bad manifests are named', async () => {
    await expect(ModelSource.open(`${base}/nope/manifest.json`, { store: new MemoryStore() })).rejects.toThrow(ModelFetchError);
    expect(() => parseManifest('{"format":"other"}', 'm.json')).toThrow(/m\.json: format is "other"/);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.graphs.block.fp32 = 'missing.onnx';
    expect(() => parseManifest(JSON.stringify(m), 'm.json')).toThrow(ManifestError);
    expect(() => parseManifest(JSON.stringify(m), 'm.json')).toThrow(/graphs\.block\.fp32 names "missing\.onnx"/);
  });
});
