/**
 * Where verified model files live between page loads: IndexedDB through idb-keyval, keyed by
 * content ("sha256:<hex>", so two models sharing a file store it once), with a size record per
 * key so the UI can say what "clear cached models" frees without reading every blob back.
 *
 * When IndexedDB is missing (private mode, some embedded views) or full (QuotaExceededError),
 * the store degrades to memory for the rest of the page's life and says so once: the model
 * keeps running, it just is not there next time.
 */
import { clear, createStore, del, entries, get, set, type UseStore } from 'idb-keyval';

export const CACHE_DB = 'trm-studio-models';
export const CACHE_META_DB = 'trm-studio-models-meta';
export const CACHE_STORE = 'files';

export interface StoredMeta {
  bytes: number;
  /** The file's path in the model directory it was first stored for (for display only). */
  path: string;
  storedAt: number;
}

export interface FileStore {
  readonly kind: 'indexeddb' | 'memory';
  get(key: string): Promise<Uint8Array | undefined>;
  set(key: string, data: Uint8Array, path: string): Promise<void>;
  delete(key: string): Promise<void>;
  status(): Promise<{ files: number; bytes: number }>;
  /** Removes everything; returns what was freed. */
  clear(): Promise<{ files: number; bytes: number }>;
}

export const fileKey = (sha256: string) => `sha256:${sha256}`;
export const manifestKey = (url: string) => `manifest:${url}`;

export class MemoryStore implements FileStore {
  readonly kind = 'memory' as const;
  private readonly data = new Map<string, Uint8Array>();

  async get(key: string) { return this.data.get(key); }
  async set(key: string, data: Uint8Array) { this.data.set(key, data); }
  async delete(key: string) { this.data.delete(key); }
  async status() {
    let bytes = 0;
    for (const v of this.data.values()) bytes += v.byteLength;
    return { files: this.data.size, bytes };
  }
  async clear() {
    const s = await this.status();
    this.data.clear();
    return s;
  }
}

export class IdbStore implements FileStore {
  readonly kind = 'indexeddb' as const;
  private readonly files: UseStore;
  private readonly meta: UseStore;

  constructor() {
    this.files = createStore(CACHE_DB, CACHE_STORE);
    this.meta = createStore(CACHE_META_DB, CACHE_STORE);
  }

  async get(key: string) {
    const v = await get<ArrayBuffer | Uint8Array>(key, this.files);
    return v === undefined ? undefined : v instanceof Uint8Array ? v : new Uint8Array(v);
  }

  async set(key: string, data: Uint8Array, path: string) {
    // Store exactly the file's bytes, not a view's whole backing buffer.
    const copy = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data.buffer : data.slice().buffer;
    await set(key, copy, this.files);
    await set(key, { bytes: data.byteLength, path, storedAt: Date.now() } satisfies StoredMeta, this.meta);
  }

  async delete(key: string) {
    await del(key, this.files);
    await del(key, this.meta);
  }

  async status() {
    const all = await entries<string, StoredMeta>(this.meta);
    return { files: all.length, bytes: all.reduce((n, [, m]) => n + m.bytes, 0) };
  }

  async clear() {
    const s = await this.status();
    await clear(this.files);
    await clear(this.meta);
    return s;
  }
}

const isQuotaError = (e: unknown) =>
  e instanceof DOMException && (e.name === 'QuotaExceededError' || e.name === 'NS_ERROR_DOM_QUOTA_REACHED');

/**
 * IndexedDB with a memory fallback: any IndexedDB failure (missing, blocked, quota) switches
 * to memory for good, reporting why through `onDegrade` once. Data already in memory stays.
 */
export class ResilientStore implements FileStore {
  private store: FileStore;
  private readonly memory = new MemoryStore();

  constructor(private readonly onDegrade: (reason: string) => void, primary?: FileStore) {
    if (primary) this.store = primary;
    else if (typeof indexedDB === 'undefined') {
      this.store = this.memory;
      onDegrade('IndexedDB is not available (private browsing?): the model is kept in memory and will be downloaded again next time');
    } else this.store = new IdbStore();
  }

  get kind() { return this.store.kind; }

  async get(key: string) {
    return (await this.memory.get(key)) ?? (await this.attempt(() => this.store.get(key), undefined));
  }

  async set(key: string, data: Uint8Array, path: string) {
    if (this.store === this.memory) return this.memory.set(key, data);
    await this.attempt(() => this.store.set(key, data, path), undefined);
    if (this.store === this.memory) await this.memory.set(key, data);
  }

  async delete(key: string) {
    await this.memory.delete(key);
    if (this.store !== this.memory) await this.attempt(() => this.store.delete(key), undefined);
  }

  status() { return this.store.status(); }

  async clear() {
    const inMemory = await this.memory.clear();
    if (this.store === this.memory) return inMemory;
    return this.attempt(() => this.store.clear(), inMemory);
  }

  private async attempt<T>(op: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await op();
    } catch (e) {
      const why = isQuotaError(e)
        ? 'the browser storage quota is full'
        : `IndexedDB failed (${(e as Error).name}: ${(e as Error).message})`;
      this.store = this.memory;
      this.onDegrade(`${why}: the model is kept in memory and will be downloaded again next time`);
      return fallback;
    }
  }
}
