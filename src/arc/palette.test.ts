import { describe, expect, it } from 'vitest';
import { PALETTES, hexToRgb, textColorOn } from './palette.ts';

describe('palettes', () => {
  it('has ten distinct #RRGGBB colours in every palette, colour 0 black', () => {
    for (const p of Object.values(PALETTES)) {
      expect(p.colors).toHaveLength(10);
      expect(new Set(p.colors.map((c) => c.toLowerCase())).size).toBe(10);
      for (const c of p.colors) expect(c).toMatch(/^#[0-9A-Fa-f]{6}$/);
      expect(p.colors[0]).toBe('#000000');
    }
  });

  it('matches the arcprize.org and original ARC values from the docs', () => {
    expect(PALETTES.arcprize.colors[1]).toBe('#1E93FF');
    expect(PALETTES.arcprize.colors[9]).toBe('#921231');
    expect(PALETTES.original.colors[2]).toBe('#FF4136');
  });

  it('converts hex and picks a readable text colour', () => {
    expect(hexToRgb('#1E93FF')).toEqual([0x1e, 0x93, 0xff]);
    expect(textColorOn('#000000')).toBe('#ffffff');
    expect(textColorOn('#FFDC00')).toBe('#000000');
    expect(textColorOn('#921231')).toBe('#ffffff');
  });
});
