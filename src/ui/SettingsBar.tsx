/** Palette, numbers overlay and grid lines. */
import { PALETTES, isPaletteId } from '../arc/palette.ts';
import { appStore, useAppStore } from './useAppStore.ts';

export function SettingsBar() {
  const settings = useAppStore((s) => s.settings);
  const update = appStore.getState().updateSettings;
  return (
    <div className="settings" role="group" aria-label="Display settings">
      <label>
        Palette
        <select value={settings.palette} onChange={(e) => isPaletteId(e.target.value) && update({ palette: e.target.value })}>
          {Object.values(PALETTES).map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
        </select>
      </label>
      <span className="palette-preview" aria-hidden>
        {PALETTES[settings.palette].colors.map((c) => (
          <span key={c} style={{ background: c }} />
        ))}
      </span>
      <label className="check">
        <input type="checkbox" checked={settings.showNumbers} onChange={(e) => update({ showNumbers: e.target.checked })} />
        Numbers
      </label>
      <label className="check">
        <input type="checkbox" checked={settings.gridLines} onChange={(e) => update({ gridLines: e.target.checked })} />
        Grid lines
      </label>
    </div>
  );
}
