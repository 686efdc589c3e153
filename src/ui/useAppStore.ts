/** React binding of the vanilla app store. Select small, stable values to avoid re-renders. */
import { useStore } from 'zustand';
import { appStore, type AppState } from '../state/store.ts';

export function useAppStore<T>(selector: (s: AppState) => T): T {
  return useStore(appStore, selector);
}

export { appStore };
