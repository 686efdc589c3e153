/**
 * Exposes the engine client to e2e tests as window.trm, so page.evaluate() can drive the real
 * worker (onnxruntime-web, IndexedDB cache) without the app's UI.
 */
import { TrmEngine } from '../src/engine/client.ts';
import { CACHE_DB, CACHE_STORE } from '../src/model/cache.ts';

declare global {
  interface Window {
    trm: { TrmEngine: typeof TrmEngine; CACHE_DB: string; CACHE_STORE: string };
  }
}

window.trm = { TrmEngine, CACHE_DB, CACHE_STORE };
document.body.dataset.ready = 'true';
