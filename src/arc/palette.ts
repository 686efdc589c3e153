/** ARC colour palettes: index = colour 0–9, values are #RRGGBB. */

export type PaletteId = 'arcprize' | 'original' | 'tol';

export interface Palette {
  id: PaletteId;
  label: string;
  colors: readonly string[];
}

export const PALETTES: Record<PaletteId, Palette> = {
  // What arcprize.org shows today.
  arcprize: {
    id: 'arcprize',
    label: 'arcprize.org',
    colors: ['#000000', '#1E93FF', '#F93C31', '#4FCC30', '#FFDC00', '#999999', '#E53AA3', '#FF851B', '#87D8F1', '#921231'],
  },
  // fchollet/ARC-AGI apps/css/common.css .symbol_0 … .symbol_9
  original: {
    id: 'original',
    label: 'Original ARC',
    colors: ['#000000', '#0074D9', '#FF4136', '#2ECC40', '#FFDC00', '#AAAAAA', '#F012BE', '#FF851B', '#7FDBFF', '#870C25'],
  },
  // Paul Tol's "muted" qualitative scheme (distinct under common colour-vision deficiencies),
  // mapped onto ARC hues where it can be; 0 stays black because ARC reads 0 as background.
  tol: {
    id: 'tol',
    label: 'Colour-blind safe (Paul Tol)',
    colors: ['#000000', '#88CCEE', '#CC6677', '#117733', '#DDCC77', '#DDDDDD', '#AA4499', '#999933', '#44AA99', '#882255'],
  },
};

export const DEFAULT_PALETTE: PaletteId = 'arcprize';

export const COLOR_NAMES = ['black', 'blue', 'red', 'green', 'yellow', 'grey', 'magenta', 'orange', 'sky', 'maroon'] as const;

export function isPaletteId(v: unknown): v is PaletteId {
  return typeof v === 'string' && v in PALETTES;
}

/** #RRGGBB → [r, g, b]. */
export function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Black or white, whichever reads better on `hex` (WCAG relative luminance). */
export function textColorOn(hex: string): '#000000' | '#ffffff' {
  const [r, g, b] = hexToRgb(hex).map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contrast with white is 1.05/(L+0.05), with black (L+0.05)/0.05; equal at L ≈ 0.179.
  return lum > 0.179 ? '#000000' : '#ffffff';
}
