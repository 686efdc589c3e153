import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startOffline } from './offline/register.ts';
import { idbPersistence, startPersistence } from './state/persist.ts';
import { idbFitPersistence, startFitPersistence } from './state/fit.ts';
import { idbResultsPersistence, startResultsPersistence } from './state/solve.ts';
import { App } from './ui/App.tsx';
import { appStore } from './ui/useAppStore.ts';
import './ui/styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

// Restore loaded tasks after the first paint: the demo gallery shows at once either way.
startPersistence(appStore, idbPersistence()).catch((e) => console.warn('task persistence unavailable', e));
startResultsPersistence(appStore, idbResultsPersistence()).catch((e) => console.warn('result persistence unavailable', e));
startFitPersistence(appStore, idbFitPersistence()).catch((e) => console.warn('fitted-row persistence unavailable', e));
// Service worker: offline copy, "ready offline" check, update prompt (production build only).
void startOffline();
