/**
 * What the build, the service worker (sw.ts) and the page (register.ts) share: the precache
 * manifest the build writes into sw.js, and the messages between page and worker. Types only,
 * so that sw.js stays one self-contained file with nothing in common with the app's chunks.
 */

export interface PrecacheEntry {
  /** Relative to the service worker's scope, e.g. "assets/main-3f2a.js" or "index.html". */
  url: string;
  bytes: number;
  /** The install step checks every response against it before caching. */
  sha256: string;
}

export interface PrecacheManifest {
  /** Hash over every entry: a new build with any changed file gets a new cache and a new worker. */
  version: string;
  entries: PrecacheEntry[];
  /** manifest.json URLs of the precached models (relative to the scope), for the page's check. */
  models: string[];
}

/** Page → service worker. `status` is answered on the MessageChannel port passed with it. */
export type SwRequest = { type: 'status' } | { type: 'skip-waiting' };

export interface SwStatus {
  version: string;
  /** Cache Storage name holding this version's files. */
  cache: string;
  /** Every entry is in the cache (install finished). */
  complete: boolean;
  files: number;
  bytes: number;
  models: string[];
}

/** Service worker → every window of the origin, while it installs. */
export interface PrecacheProgress {
  type: 'precache-progress';
  version: string;
  done: number;
  total: number;
}
