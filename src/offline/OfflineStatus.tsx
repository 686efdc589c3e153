/**
 * What the user sees of offline use: a header badge (preparing / ready offline / failed), an
 * update prompt when a new build waits, and the storage line of the model panel (what the
 * origin uses of its quota, and which models are verified for offline use).
 */
import { useEffect } from 'react';
import { useStore } from 'zustand';
import { useAppStore } from '../ui/useAppStore.ts';
import { applyUpdate, refreshStorageEstimate } from './register.ts';
import { offlineStore } from './state.ts';
import './offline.css';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GB`;

export function OfflineBadge() {
  const phase = useStore(offlineStore, (s) => s.phase);
  const progress = useStore(offlineStore, (s) => s.progress);
  const error = useStore(offlineStore, (s) => s.error);
  const files = useStore(offlineStore, (s) => s.models.reduce((n, m) => n + m.files, 0));
  const bytes = useStore(offlineStore, (s) => s.precachedBytes);
  const [text, title] =
    phase === 'ready' ? ['Ready offline', `Everything the app needs (${mb(bytes)}) is stored in this browser; ${files} model files verified by sha256.`] :
    phase === 'installing' ? [`Preparing offline copy…${progress ? ` ${progress.done}/${progress.total}` : ''}`, 'Downloading the app, the inference runtime and the demo model for use without a network.'] :
    phase === 'verifying' ? ['Checking offline copy…', 'Hashing the stored model files against their manifest.'] :
    phase === 'error' ? ['Offline copy failed', error ?? ''] :
    phase === 'dev' ? ['Online only (dev server)', 'The service worker exists only in the production build: npm start.'] :
    ['Online only', 'This browser (or this address) does not allow service workers.'];
  return (
    <span className="offline-badge" data-offline-status={phase} title={title} role="status">
      {text}
    </span>
  );
}

export function UpdatePrompt() {
  const waiting = useStore(offlineStore, (s) => s.updateWaiting);
  if (!waiting) return null;
  return (
    <div className="update-prompt" role="alert">
      A new version of TRM Studio is ready.
      <button type="button" className="primary" onClick={() => void applyUpdate()}>Reload to update</button>
    </div>
  );
}

/** For the model panel. */
export function StorageStatus() {
  const storage = useStore(offlineStore, (s) => s.storage);
  const phase = useStore(offlineStore, (s) => s.phase);
  const models = useStore(offlineStore, (s) => s.models);
  const modelStatus = useAppStore((s) => s.model.status);
  // Loading a model writes its files to IndexedDB: the usage changes.
  useEffect(() => void refreshStorageEstimate(), [modelStatus, phase]);
  return (
    <div className="storage-status small">
      {storage && (
        <p data-storage-usage={storage.usage} data-storage-quota={storage.quota}>
          Storage: {mb(storage.usage)} used of {gb(storage.quota)} this site may use.
        </p>
      )}
      {phase === 'ready' && models.length > 0 ? (
        <p className="ok" data-ready-offline={models.map((m) => m.name).join(',')}>
          Ready offline: {models.map((m) => `${m.name} (${m.files} files, ${mb(m.bytes)}, sha256 verified)`).join('; ')}.
        </p>
      ) : (
        <p className="muted">Not verified for offline use{phase === 'installing' || phase === 'verifying' ? ' yet' : ''}.</p>
      )}
    </div>
  );
}
