/** Display preferences: palette, numbers overlay, grid lines. Persisted with the tasks. */
import { DEFAULT_PALETTE, isPaletteId, type PaletteId } from '../arc/palette.ts';
import type { SliceCreator } from './store.ts';

export interface Settings {
  palette: PaletteId;
  showNumbers: boolean;
  gridLines: boolean;
}

export interface SettingsSlice {
  settings: Settings;
  updateSettings(patch: Partial<Settings>): void;
}

export const DEFAULT_SETTINGS: Settings = { palette: DEFAULT_PALETTE, showNumbers: false, gridLines: true };

/** Keeps the valid fields of stored settings, so an old or damaged record cannot break the UI. */
export function sanitizeSettings(value: unknown): Settings {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  return {
    palette: isPaletteId(v.palette) ? v.palette : DEFAULT_SETTINGS.palette,
    showNumbers: typeof v.showNumbers === 'boolean' ? v.showNumbers : DEFAULT_SETTINGS.showNumbers,
    gridLines: typeof v.gridLines === 'boolean' ? v.gridLines : DEFAULT_SETTINGS.gridLines,
  };
}

export const createSettingsSlice: SliceCreator<SettingsSlice> = (set) => ({
  settings: DEFAULT_SETTINGS,
  updateSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch } })),
});
