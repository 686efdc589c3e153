/**
 * Offline readiness as the UI shows it, in its own small vanilla store: nothing else in the app
 * depends on it, and it lives for the page (the service worker is the persistent part).
 */
import { createStore } from 'zustand/vanilla';
import type { VerifiedModel } from './verify.ts';

export type OfflinePhase =
  /** No service worker API (old browser, or a non-secure origin other than localhost). */
  | 'unsupported'
  /** The dev server: the service worker only exists in the production build. */
  | 'dev'
  /** Downloading and checking the offline copy. */
  | 'installing'
  /** Hashing the cached model files. */
  | 'verifying'
  /** Every precached file is in the cache and every model file matched its sha256. */
  | 'ready'
  | 'error';

export interface StorageEstimate {
  usage: number;
  quota: number;
}

export interface OfflineState {
  phase: OfflinePhase;
  /** Files cached out of the total, while installing. */
  progress: { done: number; total: number } | null;
  /** Size of the offline copy (every precached file). */
  precachedBytes: number;
  models: VerifiedModel[];
  /** A new build is installed and waits for the user to switch to it. */
  updateWaiting: boolean;
  error: string | null;
  storage: StorageEstimate | null;
}

export const INITIAL_OFFLINE: OfflineState = {
  phase: 'installing', progress: null, precachedBytes: 0, models: [], updateWaiting: false, error: null, storage: null,
};

export const createOfflineStore = () => createStore<OfflineState>()(() => INITIAL_OFFLINE);
export type OfflineStore = ReturnType<typeof createOfflineStore>;

export const offlineStore = createOfflineStore();
