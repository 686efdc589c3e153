/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { modelsPlugin } from './src/model/vite-models-plugin.ts';
import { CONTENT_SECURITY_POLICY } from './src/offline/csp.ts';
import { offlinePlugin } from './src/offline/vite-offline-plugin.ts';

// COOP/COEP let the WASM backend use threads when the host allows it.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [
    react(),
    modelsPlugin(),
    // Precache the app shell, the ORT wasm and the default model (demo once it ships) for offline use.
    offlinePlugin({ models: ['demo', 'golden-h64'], exclude: [/engine-harness/] }),
  ],
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: isolation },
  // The CSP header also covers the inference worker (the page's <meta> does not reach workers).
  preview: { headers: { ...isolation, 'Content-Security-Policy': CONTENT_SECURITY_POLICY } },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    // engine-harness.html: a bare page that drives the inference worker for the engine e2e tests.
    rolldownOptions: { input: { main: 'index.html', 'engine-harness': 'engine-harness.html' } },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
