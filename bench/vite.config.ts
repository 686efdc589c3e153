/**
 * Builds the benchmark harness page (bench/harness.html) into bench/.dist and serves it with the
 * app's isolation headers; bench models are served from bench/.models at /models/<id>/ (never
 * copied into the build: the ARC-AGI-2-size model alone is ≈ 100 MB).
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import { modelsPlugin } from '../src/model/vite-models-plugin.ts';

const root = resolve(import.meta.dirname, '..');
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig(({ command }) => ({
  root,
  logLevel: 'warn',
  // No SPA fallback: it would rewrite /models/… requests to index.html before the models middleware.
  appType: 'custom',
  plugins: command === 'serve' ? [modelsPlugin('bench/.models')] : [],
  worker: { format: 'es' },
  preview: { headers: isolation, host: '127.0.0.1', port: 4320, strictPort: false },
  build: {
    target: 'es2022',
    outDir: resolve(root, 'bench/.dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rolldownOptions: { input: { harness: resolve(root, 'bench/harness.html') } },
  },
}));
