/**
 * Reads a model directory over HTTP (or from the cache): manifest.json first, then each file it
 * lists on demand, with byte progress, and every file verified against the manifest's sha256
 * before anything uses it. A bad cached copy is dropped and downloaded again; a bad download is
 * retried once, then reported as an IntegrityError naming the file.
 *
 * Isomorphic: fetch + crypto.subtle exist in browsers, workers and Node ≥ 20.
 */
import { IntegrityError, ManifestError, ModelFetchError } from '../engine/errors.ts';
import type { LoadProgress, Notice } from '../engine/protocol.ts';
import { fileKey, manifestKey, type FileStore } from './cache.ts';
import { sha256Hex } from './sha256.ts';
import { MANIFEST_FORMAT, PRECISIONS, type Manifest, type ManifestFile, type ModelConfig } from './manifest.ts';

const CONFIG_FIELDS: (keyof ModelConfig)[] = [
  'hidden_size', 'num_heads', 'expansion', 'intermediate_size', 'L_layers', 'H_cycles', 'L_cycles', 'halt_max_steps',
  'puzzle_emb_len', 'puzzle_emb_ndim', 'vocab_size', 'grid_size', 'seq_len', 'rope_theta', 'rms_norm_eps', 'num_puzzle_identifiers',
];

/** Checks what the engine relies on; every error names the manifest and the field path. */
export function parseManifest(text: string, where: string): Manifest {
  const fail = (path: string, what: string): never => { throw new ManifestError(`${where}: ${path} ${what}`, { manifest: where, field: path }); };
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    return fail('(document)', `is not JSON: ${(e as Error).message}`);
  }
  if (typeof m !== 'object' || m === null) return fail('(document)', 'is not an object');
  if (m.format !== MANIFEST_FORMAT) fail('format', `is ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`);
  if (typeof m.config !== 'object' || m.config === null) fail('config', 'is missing');
  for (const k of CONFIG_FIELDS) {
    const v = m.config[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`config.${k}`, `is ${JSON.stringify(v)}, expected a number`);
  }
  if (m.config.seq_len !== m.config.grid_size ** 2) fail('config.seq_len', `is ${m.config.seq_len}, expected grid_size² = ${m.config.grid_size ** 2}`);
  if (!Array.isArray(m.files)) fail('files', 'is not a list');
  const listed = new Set<string>();
  m.files.forEach((f, i) => {
    if (typeof f.path !== 'string' || !f.path || f.path.includes('..')) fail(`files[${i}].path`, `is ${JSON.stringify(f.path)}`);
    if (!Number.isInteger(f.bytes) || f.bytes < 0) fail(`files[${i}].bytes`, `is ${JSON.stringify(f.bytes)}`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) fail(`files[${i}].sha256`, `is ${JSON.stringify(f.sha256)}, expected 64 hex digits`);
    listed.add(f.path);
  });
  const mustList = (path: string, value: unknown) => {
    if (typeof value !== 'string') fail(path, 'is missing');
    else if (!listed.has(value)) fail(path, `names ${JSON.stringify(value)}, which is not in files[]`);
  };
  if (typeof m.graphs !== 'object' || m.graphs === null) fail('graphs', 'is missing');
  mustList('graphs.embed', m.graphs.embed);
  mustList('graphs.readout', m.graphs.readout);
  const blocks = Object.entries(m.graphs.block ?? {});
  if (blocks.length === 0) fail('graphs.block', 'lists no precision');
  for (const [p, path] of blocks) {
    if (!(PRECISIONS as readonly string[]).includes(p)) fail(`graphs.block.${p}`, `is not one of ${PRECISIONS.join(', ')}`);
    mustList(`graphs.block.${p}`, path);
  }
  if (m.graphs.grad !== undefined) mustList('graphs.grad', m.graphs.grad);
  if (typeof m.puzzles !== 'object' || m.puzzles === null || typeof m.puzzles.tasks !== 'object') fail('puzzles.tasks', 'is missing');
  if (m.puzzles.table) mustList('puzzles.table.path', m.puzzles.table.path);
  for (const [id, t] of Object.entries(m.puzzles.tasks)) {
    mustList(`puzzles.tasks.${id}.path`, t.path);
    if (!Array.isArray(t.variants) || t.variants.length === 0) fail(`puzzles.tasks.${id}.variants`, 'is empty');
  }
  return m;
}

export interface ModelSourceOptions {
  store: FileStore;
  onNotice?: (n: Notice) => void;
  /** Fetch manifest.json even when a cached copy exists. */
  revalidate?: boolean;
  fetch?: typeof fetch;
}

/** One model directory: its manifest and verified access to its files. */
export class ModelSource {
  /** Bytes read from the network so far (0 when everything came from the cache). */
  networkBytes = 0;
  private readonly byPath: Map<string, ManifestFile>;
  private readonly fetcher: typeof fetch;

  private constructor(readonly url: string, readonly manifest: Manifest, private readonly opts: ModelSourceOptions) {
    this.byPath = new Map(manifest.files.map((f) => [f.path, f]));
    this.fetcher = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** `url` is the manifest.json URL; the manifest is cached by URL so a warm load stays offline. */
  static async open(url: string, opts: ModelSourceOptions): Promise<ModelSource> {
    const key = manifestKey(url);
    const cached = opts.revalidate ? undefined : await opts.store.get(key);
    let text: string;
    let networkBytes = 0;
    if (cached) text = new TextDecoder().decode(cached);
    else {
      const bytes = await download(opts.fetch ?? globalThis.fetch.bind(globalThis), url);
      networkBytes = bytes.byteLength;
      text = new TextDecoder().decode(bytes);
    }
    const manifest = parseManifest(text, url);
    if (!cached) await opts.store.set(key, new TextEncoder().encode(text), 'manifest.json');
    const source = new ModelSource(url, manifest, opts);
    source.networkBytes = networkBytes;
    return source;
  }

  entry(path: string): ManifestFile {
    const f = this.byPath.get(path);
    if (!f) throw new ManifestError(`${this.url}: no file ${JSON.stringify(path)} in files[]`, { manifest: this.url, file: path });
    return f;
  }

  /** Reads the files (cache first), reporting bytes over all of them. */
  async files(paths: string[], onProgress?: (p: LoadProgress) => void): Promise<Map<string, Uint8Array>> {
    const entries = [...new Set(paths)].map((p) => this.entry(p));
    const total = entries.reduce((n, f) => n + f.bytes, 0);
    let done = 0;
    const out = new Map<string, Uint8Array>();
    for (const f of entries) {
      out.set(f.path, await this.read(f, (fileLoaded, fromCache) =>
        onProgress?.({ file: f.path, fileLoaded, fileTotal: f.bytes, loaded: done + fileLoaded, total, fromCache })));
      done += f.bytes;
    }
    return out;
  }

  async file(path: string, onProgress?: (p: LoadProgress) => void): Promise<Uint8Array> {
    return (await this.files([path], onProgress)).get(path)!;
  }

  private async read(f: ManifestFile, progress: (loaded: number, fromCache: boolean) => void): Promise<Uint8Array> {
    const { store } = this.opts;
    const key = fileKey(f.sha256);
    const cached = await store.get(key);
    if (cached) {
      if ((await sha256Hex(cached)) === f.sha256) {
        progress(cached.byteLength, true);
        return cached;
      }
      await store.delete(key);
      this.opts.onNotice?.({ kind: 'cache-repaired', file: f.path });
    }
    const url = new URL(f.path, this.url).href;
    let actual = '';
    for (let attempt = 0; attempt < 2; attempt++) {
      const data = await download(this.fetcher, url, f.bytes, (n) => progress(n, false));
      this.networkBytes += data.byteLength;
      actual = await sha256Hex(data);
      if (actual === f.sha256) {
        await store.set(key, data, f.path);
        return data;
      }
    }
    throw new IntegrityError(
      `${f.path}: sha256 is ${actual}, the manifest says ${f.sha256} (downloaded twice from ${url}); the model directory on the server is inconsistent`,
      { file: f.path, url, expected: f.sha256, actual },
    );
  }
}

async function download(fetcher: typeof fetch, url: string, expectedBytes?: number, progress?: (loaded: number) => void): Promise<Uint8Array> {
  let res: Response;
  try {
    // The cache lives in IndexedDB and is verified by hash; the HTTP cache must not hand back a stale copy.
    res = await fetcher(url, { cache: 'no-store' });
  } catch (e) {
    throw new ModelFetchError(`cannot fetch ${url}: ${(e as Error).message}`, { url });
  }
  if (!res.ok) throw new ModelFetchError(`cannot fetch ${url}: HTTP ${res.status} ${res.statusText}`, { url, status: res.status });
  // SPA hosts answer unknown paths with index.html and 200: that is "no model here", not a bad manifest.
  if (res.headers.get('content-type')?.startsWith('text/html')) {
    throw new ModelFetchError(`cannot fetch ${url}: the server answered with an HTML page (no model file at this address?)`, { url, status: res.status });
  }
  if (!res.body) {
    const data = new Uint8Array(await res.arrayBuffer());
    progress?.(data.byteLength);
    return data;
  }
  const reader = res.body.getReader();
  let buf = new Uint8Array(expectedBytes ?? Number(res.headers.get('content-length') ?? 0));
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.byteLength > buf.byteLength) {
      const grown = new Uint8Array(Math.max(buf.byteLength * 2, n + value.byteLength));
      grown.set(buf.subarray(0, n));
      buf = grown;
    }
    buf.set(value, n);
    n += value.byteLength;
    progress?.(n);
  }
  return buf.byteLength === n ? buf : buf.slice(0, n);
}
