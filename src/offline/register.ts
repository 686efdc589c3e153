/**
 * Page side of offline use: registers /sw.js (production build only), follows its install,
 * asks it whether the offline copy is complete, hashes the precached model files, and offers
 * a waiting new version to the user instead of swapping builds under an open tab.
 */
import type { PrecacheProgress, SwRequest, SwStatus } from './protocol.ts';
import { offlineStore, type OfflineStore } from './state.ts';
import { verifyCachedModel, type VerifiedModel } from './verify.ts';

const BASE = import.meta.env.BASE_URL;
/** A booth laptop stays open for hours: look for a new build now and then (fails quietly offline). */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

function ask(worker: ServiceWorker, request: SwRequest): Promise<SwStatus> {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => reject(new Error('the service worker did not answer a status request')), 15_000);
    channel.port1.onmessage = (e) => {
      clearTimeout(timer);
      resolve(e.data as SwStatus);
    };
    worker.postMessage(request, [channel.port2]);
  });
}

/** Resolves with the active worker; rejects when the install fails and no older version is active. */
function whenActive(reg: ServiceWorkerRegistration): Promise<ServiceWorker> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (reg.active) return resolve(reg.active);
      const w = reg.installing ?? reg.waiting;
      if (!w) return reject(new Error('the service worker did not install'));
      w.addEventListener('statechange', () => {
        if (w.state === 'redundant' && !reg.active) {
          reject(new Error('preparing the offline copy failed (a file could not be downloaded or did not match its sha256); it is retried on the next visit'));
        } else check();
      }, { once: true });
    };
    check();
  });
}

function watchUpdates(reg: ServiceWorkerRegistration, store: OfflineStore) {
  // Without a controller this is the first install, not an update.
  const mark = () => {
    if (reg.waiting && navigator.serviceWorker.controller) store.setState({ updateWaiting: true });
  };
  mark();
  reg.addEventListener('updatefound', () => {
    const w = reg.installing;
    w?.addEventListener('statechange', () => w.state === 'installed' && mark());
  });
  setInterval(() => void reg.update().catch(() => undefined), UPDATE_CHECK_MS);
}

export async function refreshStorageEstimate(store: OfflineStore = offlineStore): Promise<void> {
  try {
    const est = await navigator.storage?.estimate();
    if (est) store.setState({ storage: { usage: est.usage ?? 0, quota: est.quota ?? 0 } });
  } catch {
    // Some embedded views have no StorageManager; the panel then shows nothing.
  }
}

/** Switches to the waiting build: it takes control, and the page reloads onto it. */
export async function applyUpdate(): Promise<void> {
  const reg = await navigator.serviceWorker.getRegistration(BASE);
  if (!reg?.waiting) return;
  navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
  reg.waiting.postMessage({ type: 'skip-waiting' } satisfies SwRequest);
}

export async function startOffline(store: OfflineStore = offlineStore): Promise<void> {
  void refreshStorageEstimate(store);
  if (!import.meta.env.PROD) return store.setState({ phase: 'dev' });
  if (!('serviceWorker' in navigator)) return store.setState({ phase: 'unsupported' });
  navigator.serviceWorker.addEventListener('message', (e: MessageEvent<PrecacheProgress>) => {
    if (e.data?.type === 'precache-progress' && store.getState().phase === 'installing') {
      store.setState({ progress: { done: e.data.done, total: e.data.total } });
    }
  });
  try {
    const reg = await navigator.serviceWorker.register(`${BASE}sw.js`, { scope: BASE });
    watchUpdates(reg, store);
    const active = await whenActive(reg);
    store.setState({ phase: 'verifying' });
    const status = await ask(active, { type: 'status' });
    if (!status.complete) throw new Error(`the offline copy is incomplete: ${status.files} files cached`);
    const cache = await caches.open(status.cache);
    const models: VerifiedModel[] = [];
    for (const m of status.models) {
      models.push(await verifyCachedModel({ match: (url) => cache.match(url) }, new URL(m, reg.scope).href));
    }
    store.setState({ phase: 'ready', progress: null, precachedBytes: status.bytes, models, error: null });
  } catch (e) {
    store.setState({ phase: 'error', error: (e as Error).message });
  }
  void refreshStorageEstimate(store);
}
