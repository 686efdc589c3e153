/**
 * Serves the repository's model directories (models/<name>/ with a manifest.json) at
 * /models/<name>/… in `vite` dev and `vite preview`, copies exactly the files each manifest lists
 * into dist/models/ at build, and generates /models/index.json so the app can list them.
 * Directories without a manifest.json (e.g. models/training/) are ignored.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import type { Connect, Plugin } from 'vite';
import type { Manifest } from './manifest.ts';

export interface ModelIndexEntry {
  /** Directory name under models/. */
  id: string;
  name: string;
  /** Relative to the site root, e.g. "models/golden-h64/manifest.json". */
  manifest: string;
  manifestSha256: string;
  /** Sum of every listed file. */
  bytes: number;
  precisions: string[];
  hiddenSize: number;
  tasks: number;
}

export interface ModelIndex {
  models: ModelIndexEntry[];
}

function modelDirs(root: string): { id: string; dir: string; manifest: Manifest; manifestText: string }[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((id) => existsSync(join(root, id, 'manifest.json')))
    .sort()
    .map((id) => {
      const manifestText = readFileSync(join(root, id, 'manifest.json'), 'utf8');
      let manifest: Manifest;
      try {
        manifest = JSON.parse(manifestText) as Manifest;
      } catch (e) {
        throw new Error(`models/${id}/manifest.json is not JSON: ${(e as Error).message}`);
      }
      return { id, dir: join(root, id), manifest, manifestText };
    });
}

export function buildModelIndex(root: string): ModelIndex {
  return {
    models: modelDirs(root).map(({ id, manifest, manifestText }) => ({
      id,
      name: manifest.name,
      manifest: `models/${id}/manifest.json`,
      manifestSha256: createHash('sha256').update(manifestText).digest('hex'),
      bytes: manifest.files.reduce((n, f) => n + f.bytes, 0),
      precisions: Object.keys(manifest.graphs.block),
      hiddenSize: manifest.config.hidden_size,
      tasks: Object.keys(manifest.puzzles.tasks).length,
    })),
  };
}

function serveModels(root: string): Connect.NextHandleFunction {
  return (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]);
    if (!path.startsWith('/models/')) return next();
    if (path === '/models/index.json') {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Cache-Control', 'no-cache');
      return res.end(JSON.stringify(buildModelIndex(root)));
    }
    const file = resolve(root, path.slice('/models/'.length));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return next();
    const body = readFileSync(file);
    res.setHeader('Content-Type', extname(file) === '.json' ? 'application/json' : 'application/octet-stream');
    res.setHeader('Content-Length', body.byteLength);
    res.setHeader('Cache-Control', 'no-cache');
    res.end(body);
  };
}

export function modelsPlugin(modelsDir = 'models'): Plugin {
  let root = '';
  return {
    name: 'trm-models',
    configResolved(config) {
      root = resolve(config.root, modelsDir);
    },
    configureServer(server) {
      server.middlewares.use(serveModels(root));
    },
    // Returned function: runs after preview's static dist/ handler, so the build stays authoritative.
    configurePreviewServer(server) {
      return () => server.middlewares.use(serveModels(root));
    },
    generateBundle() {
      for (const { id, dir, manifest, manifestText } of modelDirs(root)) {
        this.emitFile({ type: 'asset', fileName: `models/${id}/manifest.json`, source: manifestText });
        for (const f of manifest.files) {
          const file = join(dir, f.path);
          if (!existsSync(file)) this.error(`models/${id}/manifest.json lists ${f.path}, which does not exist`);
          this.emitFile({ type: 'asset', fileName: `models/${id}/${f.path}`, source: readFileSync(file) });
        }
      }
      this.emitFile({ type: 'asset', fileName: 'models/index.json', source: JSON.stringify(buildModelIndex(root), null, 1) });
    },
  };
}
