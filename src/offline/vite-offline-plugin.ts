/**
 * Build side of offline use: emits the service worker (src/offline/sw.ts) as /sw.js, writes
 * into it the precache manifest (url, bytes, sha256 of every file the app needs), and puts the
 * Content-Security-Policy <meta> into the built pages.
 *
 * Unlike Workbox, whose 2 MiB default silently drops the 27 MB ORT wasm from the precache with
 * only a warning, every file over `maxFileBytes` fails the build, and so does a second wasm
 * binary (only one ORT build should ship).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Plugin, ResolvedConfig } from 'vite';
import { CONTENT_SECURITY_POLICY } from './csp.ts';
import type { PrecacheEntry, PrecacheManifest } from './protocol.ts';

export const SW_FILE = 'sw.js';
/** The identifier in sw.ts the build replaces with the manifest. */
export const MANIFEST_PLACEHOLDER = '__TRM_PRECACHE__';
export const DEFAULT_MAX_FILE_BYTES = 32 * 1024 * 1024;

export interface OfflinePluginOptions {
  /** Model directories (models/<id>/) to precache when the build ships them, e.g. the default one. */
  models: string[];
  /** Output files that only tests use (pages, their chunks): left out of the precache. */
  exclude?: RegExp[];
  maxFileBytes?: number;
}

export interface BuiltFile {
  /** Path relative to the output directory, with forward slashes. */
  path: string;
  data: Uint8Array;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** Chooses what to precache among the built files and records size and hash; throws on a rule broken. */
export function buildPrecacheManifest(files: BuiltFile[], opts: OfflinePluginOptions): PrecacheManifest {
  const max = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const shippedModels = new Set(files.map((f) => /^models\/([^/]+)\/manifest\.json$/.exec(f.path)?.[1]).filter((id) => id !== undefined));
  const models = opts.models.filter((id) => shippedModels.has(id));
  if (models.length === 0) {
    throw new Error(`offline: none of the models to precache (${opts.models.join(', ')}) is in the build; it ships ${[...shippedModels].join(', ') || 'none'}`);
  }
  const wanted = (path: string) => {
    if (path === SW_FILE || path.endsWith('.map') || opts.exclude?.some((re) => re.test(path))) return false;
    const model = /^models\/([^/]+)\//.exec(path)?.[1];
    return model === undefined || models.includes(model);
  };
  const chosen = files.filter((f) => wanted(f.path)).sort((a, b) => a.path.localeCompare(b.path));
  const wasm = chosen.filter((f) => f.path.endsWith('.wasm'));
  if (wasm.length > 1) {
    throw new Error(`offline: ${wasm.length} wasm binaries would be precached (${wasm.map((f) => f.path).join(', ')}); import one onnxruntime-web build only (onnxruntime-web/webgpu)`);
  }
  const entries: PrecacheEntry[] = chosen.map((f) => {
    if (f.data.byteLength > max) {
      throw new Error(`offline: ${f.path} is ${f.data.byteLength} bytes, over the precache limit of ${max}; raise maxFileBytes or leave it out`);
    }
    return { url: f.path, bytes: f.data.byteLength, sha256: sha256(f.data) };
  });
  if (!entries.some((e) => e.url === 'index.html')) throw new Error('offline: the build has no index.html to precache');
  const version = sha256(JSON.stringify(entries)).slice(0, 16);
  return { version, entries, models: models.map((id) => `models/${id}/manifest.json`) };
}

/** Files under `dir`, relative and with forward slashes. */
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => statSync(join(dir, p)).isFile())
    .map((p) => p.split(sep).join('/'));
}

export function offlinePlugin(opts: OfflinePluginOptions): Plugin {
  let config: ResolvedConfig;
  return {
    name: 'trm-offline',
    apply: 'build',
    configResolved(c) {
      config = c;
    },
    buildStart() {
      this.emitFile({ type: 'chunk', id: resolve(import.meta.dirname, 'sw.ts'), fileName: SW_FILE });
    },
    transformIndexHtml() {
      return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }];
    },
    // After every file is on disk (public/ included), so the hashes are of what is served.
    writeBundle: {
      order: 'post',
      handler(_, bundle) {
        const outDir = resolve(config.root, config.build.outDir);
        const swPath = join(outDir, SW_FILE);
        const publicFiles = config.publicDir ? walk(config.publicDir) : [];
        const paths = [...new Set([...Object.keys(bundle), ...publicFiles])].filter((p) => existsSync(join(outDir, p)));
        const manifest = buildPrecacheManifest(paths.map((path) => ({ path, data: readFileSync(join(outDir, path)) })), opts);
        const code = readFileSync(swPath, 'utf8');
        if (code.split(MANIFEST_PLACEHOLDER).length !== 2) this.error(`${SW_FILE} must mention ${MANIFEST_PLACEHOLDER} exactly once`);
        // A classic service worker script cannot import: a shared chunk here would break it.
        if (/^\s*(import|export)\b|\bimport\(/m.test(code)) this.error(`${SW_FILE} imports another chunk; keep src/offline/sw.ts self-contained`);
        writeFileSync(swPath, code.replace(MANIFEST_PLACEHOLDER, JSON.stringify(manifest)));
        const bytes = manifest.entries.reduce((n, e) => n + e.bytes, 0);
        config.logger.info(`offline: precaching ${manifest.entries.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MB (version ${manifest.version}), models ${manifest.models.join(', ')}; relative to ${relative(config.root, outDir)}/`);
      },
    },
  };
}
