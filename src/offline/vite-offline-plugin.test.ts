import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPrecacheManifest, type BuiltFile } from './vite-offline-plugin.ts';

const root = resolve(import.meta.dirname, '../..');
const file = (path: string, bytes: number | string): BuiltFile => ({
  path, data: typeof bytes === 'string' ? new TextEncoder().encode(bytes) : new Uint8Array(bytes),
});
// A build as Vite lays it out, with the repo's real golden model files.
const golden = ['manifest.json', 'embed.onnx', 'readout.onnx', 'block_q8.onnx'].map((f) => ({
  path: `models/golden-h64/${f}`, data: readFileSync(resolve(root, 'models/golden-h64', f)),
}));
const build = (): BuiltFile[] => [
  file('index.html', '<!doctype html>'),
  file('engine-harness.html', '<!doctype html>'),
  file('assets/main-abc.js', 'console.log(1)'),
  file('assets/main-abc.js.map', '{}'),
  file('assets/engine-harness-def.js', ''),
  file('assets/ort-wasm-simd-threaded.asyncify-x.wasm', 3000),
  file('sw.js', ''),
  file('models/index.json', '{}'),
  file('models/tiny/manifest.json', '{}'),
  file('models/tiny/embed.onnx', 10),
  ...golden,
];

describe('buildPrecacheManifest', () => {
  it('lists the app shell, the wasm and the chosen models with their real sha256, and nothing test-only', () => {
    const m = buildPrecacheManifest(build(), { models: ['demo', 'golden-h64'], exclude: [/engine-harness/] });
    expect(m.entries.map((e) => e.url).sort()).toEqual([
      'assets/main-abc.js', 'assets/ort-wasm-simd-threaded.asyncify-x.wasm', 'index.html', 'models/golden-h64/block_q8.onnx',
      'models/golden-h64/embed.onnx', 'models/golden-h64/manifest.json', 'models/golden-h64/readout.onnx', 'models/index.json',
    ]);
    expect(m.models).toEqual(['models/golden-h64/manifest.json']);
    const embed = m.entries.find((e) => e.url === 'models/golden-h64/embed.onnx')!;
    // The model's own manifest records the same hash the build computes.
    const manifest = JSON.parse(readFileSync(resolve(root, 'models/golden-h64/manifest.json'), 'utf8')) as { files: { path: string; sha256: string; bytes: number }[] };
    const listed = manifest.files.find((f) => f.path === 'embed.onnx')!;
    expect(embed).toEqual({ url: 'models/golden-h64/embed.onnx', bytes: listed.bytes, sha256: listed.sha256 });
  });

  it('gets a new version when any file changes, and the same one when nothing does', () => {
    const a = buildPrecacheManifest(build(), { models: ['golden-h64'] });
    expect(buildPrecacheManifest(build(), { models: ['golden-h64'] }).version).toBe(a.version);
    const changed = build().map((f) => (f.path === 'index.html' ? file('index.html', '<!doctype html><p>v2') : f));
    expect(buildPrecacheManifest(changed, { models: ['golden-h64'] }).version).not.toBe(a.version);
    expect(a.version).toBe(createHash('sha256').update(JSON.stringify(a.entries)).digest('hex').slice(0, 16));
  });

  it('fails the build on a file over the size limit instead of leaving it out', () => {
    expect(() => buildPrecacheManifest(build(), { models: ['golden-h64'], maxFileBytes: 2048 }))
      .toThrow(/ort-wasm-simd-threaded\.asyncify-x\.wasm is 3000 bytes, over the precache limit of 2048/);
  });

  it('fails the build on a second wasm binary', () => {
    const two = [...build(), file('assets/ort-wasm-simd-threaded.jsep-y.wasm', 10)];
    expect(() => buildPrecacheManifest(two, { models: ['golden-h64'] })).toThrow(/2 wasm binaries .*jsep-y\.wasm/);
  });

  it('fails the build when none of the models to precache ships', () => {
    expect(() => buildPrecacheManifest(build(), { models: ['demo'] })).toThrow(/none of the models to precache \(demo\) is in the build; it ships tiny, golden-h64/);
  });
});
