/**
 * The service worker (built to /sw.js by vite-offline-plugin.ts, which writes the precache
 * manifest in place of __TRM_PRECACHE__). It makes the app work with the network off:
 *
 * - install: download every precached file (app shell, the one ORT wasm, demo model, model
 *   index), check each against the sha256 the build recorded, and store it in a cache named by
 *   the build's version. A file that fails the check fails the install (retried on next load),
 *   so a half-broken offline copy never becomes active. Files unchanged since the previous
 *   version are copied from its cache instead of downloaded again (the 27 MB wasm, models).
 * - activate: drop older versions' caches, take control of open pages.
 * - fetch: precached files come from the cache; navigations get the cached page; everything
 *   else same-origin goes to the network untouched. Responses it serves carry COOP/COEP (so
 *   threaded WASM keeps working offline and on hosts that cannot set headers) and the CSP.
 * - update: a new version waits until the page asks it to take over ("skip-waiting"), so an
 *   open tab never mixes files of two builds.
 *
 * Self-contained on purpose (type imports only, plus the CSP string): a classic worker script
 * cannot import the app's chunks.
 */
import { CONTENT_SECURITY_POLICY } from './csp.ts';
import type { PrecacheEntry, PrecacheManifest, PrecacheProgress, SwRequest, SwStatus } from './protocol.ts';

declare const __TRM_PRECACHE__: PrecacheManifest;

const sw = self as unknown as ServiceWorkerGlobalScope;
const MANIFEST = __TRM_PRECACHE__;
const PREFIX = 'trm-studio-precache-';
const CACHE = PREFIX + MANIFEST.version;
/** Stored with each cached response so the next version can reuse unchanged files. */
const SHA_HEADER = 'X-TRM-SHA256';
const PARALLEL_DOWNLOADS = 4;

const scoped = (url: string) => new URL(url, sw.registration.scope).href;
const INDEX = scoped('index.html');
const SCOPE = scoped('./');
const precached = new Set(MANIFEST.entries.map((e) => scoped(e.url)));

const ADDED_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
};

// Not src/model/sha256.ts: the page imports that module too, so Rolldown would make it a shared
// chunk, and sw.js must stay one self-contained file (the build refuses an import).
async function sha256Hex(data: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Adds the isolation and CSP headers a response lacks (cached copies keep the server's own). */
function served(res: Response): Response {
  // Opaque redirects and errors cannot be rebuilt; same-origin bodies can.
  if (res.type !== 'basic' && res.type !== 'default') return res;
  const headers = new Headers(res.headers);
  for (const [name, value] of Object.entries(ADDED_HEADERS)) if (!headers.has(name)) headers.set(name, value);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

async function fill(cache: Cache, older: Cache[], entry: PrecacheEntry): Promise<void> {
  const url = scoped(entry.url);
  if ((await cache.match(url))?.headers.get(SHA_HEADER) === entry.sha256) return; // an interrupted install, retried
  for (const old of older) {
    const hit = await old.match(url);
    if (hit?.headers.get(SHA_HEADER) === entry.sha256) return cache.put(url, hit);
  }
  // 'reload': the HTTP cache could hand back a file of the previous build.
  const res = await fetch(url, { cache: 'reload' });
  if (!res.ok) throw new Error(`precache: ${entry.url}: HTTP ${res.status}`);
  const body = await res.arrayBuffer();
  const actual = await sha256Hex(body);
  if (actual !== entry.sha256) throw new Error(`precache: ${entry.url}: sha256 is ${actual}, the build recorded ${entry.sha256}`);
  const headers = new Headers(res.headers);
  headers.set(SHA_HEADER, entry.sha256);
  await cache.put(url, new Response(body, { status: res.status, statusText: res.statusText, headers }));
}

async function tellPages(message: PrecacheProgress) {
  for (const client of await sw.clients.matchAll({ type: 'window', includeUncontrolled: true })) client.postMessage(message);
}

async function install() {
  const cache = await caches.open(CACHE);
  const older = await Promise.all((await caches.keys()).filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.open(k)));
  const queue = [...MANIFEST.entries];
  const total = queue.length;
  let done = 0;
  const worker = async () => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      await fill(cache, older, entry);
      await tellPages({ type: 'precache-progress', version: MANIFEST.version, done: ++done, total });
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_DOWNLOADS }, worker));
}

async function activate() {
  for (const k of await caches.keys()) if (k.startsWith(PREFIX) && k !== CACHE) await caches.delete(k);
  await sw.clients.claim();
}

async function status(): Promise<SwStatus> {
  const cache = await caches.open(CACHE);
  let files = 0, bytes = 0;
  for (const e of MANIFEST.entries) {
    if (await cache.match(scoped(e.url))) {
      files++;
      bytes += e.bytes;
    }
  }
  return { version: MANIFEST.version, cache: CACHE, complete: files === MANIFEST.entries.length, files, bytes, models: MANIFEST.models };
}

const fromCache = (url: string) => caches.match(url, { cacheName: CACHE });

async function respond(request: Request, key: string): Promise<Response> {
  return served((await fromCache(key)) ?? (await fetch(request)));
}

async function navigate(request: Request, key: string): Promise<Response> {
  const page = precached.has(key) ? key : key === SCOPE ? INDEX : undefined;
  const hit = page && (await fromCache(page));
  if (hit) return served(hit);
  try {
    return served(await fetch(request));
  } catch (e) {
    // Offline on a path the build does not know: the app is a single page.
    const index = await fromCache(INDEX);
    if (index) return served(index);
    throw e;
  }
}

sw.addEventListener('install', (e) => e.waitUntil(install()));
sw.addEventListener('activate', (e) => e.waitUntil(activate()));

sw.addEventListener('message', (e) => {
  const msg = e.data as SwRequest | undefined;
  if (msg?.type === 'skip-waiting') e.waitUntil(sw.skipWaiting());
  else if (msg?.type === 'status') e.waitUntil(status().then((s) => e.ports[0]?.postMessage(s)));
});

sw.addEventListener('fetch', (e) => {
  const { request } = e;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  const key = url.origin + url.pathname;
  if (request.mode === 'navigate') e.respondWith(navigate(request, key));
  else if (precached.has(key)) e.respondWith(respond(request, key));
});
