/** Output editor for one test input: tools, colours, resize, copy, reset, undo/redo, Check. */
import { useEffect, useMemo, useRef, useState } from 'react';
import { fillSelection, floodFill, normalizeSelection, paintCell, parseSize, resizeGrid, type Tool } from '../../arc/editor.ts';
import { cloneGrid, filledGrid, gridSizeLabel } from '../../arc/grid.ts';
import { COLOR_NAMES, PALETTES } from '../../arc/palette.ts';
import type { Grid, Task } from '../../arc/types.ts';
import { draftKey, draftOf } from '../../state/editor.ts';
import { GridCanvas, type CellPointerEvent } from '../grid/GridCanvas.tsx';
import { appStore, useAppStore } from '../useAppStore.ts';

const TOOLS: { id: Tool; label: string; key: string }[] = [
  { id: 'draw', label: 'Draw', key: 'D' },
  { id: 'select', label: 'Select', key: 'S' },
  { id: 'fill', label: 'Fill', key: 'F' },
];

export function Editor({ task, index }: { task: Task; index: number }) {
  const stored = useAppStore((s) => s.drafts[draftKey(task.id, index)]);
  // draftOf builds a fresh blank draft each call, so it must not run inside the selector.
  const draft = useMemo(() => stored ?? draftOf({ drafts: {} }, task, index), [stored, task, index]);
  const check = useAppStore((s) => s.checks[draftKey(task.id, index)]);
  const tool = useAppStore((s) => s.tool);
  const color = useAppStore((s) => s.color);
  const active = useAppStore((s) => s.activeTest === index);
  const selection = useAppStore((s) => (s.activeTest === index ? s.selection : null));
  const palette = PALETTES[useAppStore((s) => s.settings.palette)].colors;
  const anchor = useRef<[number, number] | null>(null);
  const strokeStarted = useRef(false);
  const size = gridSizeLabel(draft.grid);
  const [sizeText, setSizeText] = useState(size);
  const [sizeError, setSizeError] = useState<string | null>(null);
  useEffect(() => setSizeText(size), [size]);

  const store = appStore.getState;
  const activate = () => store().setActiveTest(index);
  const edit = (f: (grid: Grid) => Grid, merge = false) => store().editDraft(task, index, f, merge);

  const onCell = ({ row, col, phase, secondary }: CellPointerEvent) => {
    activate();
    // Right button paints background, as in most pixel editors.
    const paint = secondary ? 0 : color;
    if (tool === 'draw') {
      // One stroke is one undo step: merge only once this stroke has changed something, so a
      // stroke starting on an already-painted cell does not fold into the previous stroke.
      if (phase === 'down') strokeStarted.current = false;
      const before = draftOf(store(), task, index).grid;
      edit((g) => paintCell(g, row, col, paint), strokeStarted.current);
      if (draftOf(store(), task, index).grid !== before) strokeStarted.current = true;
    } else if (tool === 'fill' && phase === 'down') edit((g) => floodFill(g, row, col, paint));
    else if (tool === 'select') {
      if (phase === 'down') anchor.current = [row, col];
      if (anchor.current) store().setSelection(normalizeSelection(anchor.current, [row, col]));
    }
  };

  const pickColor = (c: number) => {
    activate();
    store().setColor(c);
    const sel = store().selection;
    if (store().tool === 'select' && sel && active) edit((g) => fillSelection(g, sel, c));
  };

  const applySize = () => {
    const parsed = parseSize(sizeText);
    if (!parsed) {
      setSizeError('Size must be rows×cols, each 1–30 (e.g. 5x7)');
      return;
    }
    setSizeError(null);
    edit((g) => resizeGrid(g, parsed[0], parsed[1]));
  };

  const solution = task.test[index].output;
  const input = task.test[index].input;
  const n = index + 1;
  return (
    <section
      className={`editor ${active ? 'active' : ''}`}
      aria-label={`Output editor for test ${n}`}
      onFocus={activate}
      onPointerDown={activate}
    >
      <div className="editor-tools" role="toolbar" aria-label={`Tools for test ${n}`}>
        <div className="segmented">
          {TOOLS.map((t) => (
            <button
              key={t.id}
              type="button"
              aria-pressed={tool === t.id}
              title={`${t.label} (${t.key})`}
              onClick={() => {
                activate();
                store().setTool(t.id);
              }}
            >
              {t.label}
            </button>
          ))}
        </div>
        <div className="swatches">
          {palette.map((hex, c) => (
            <button
              key={c}
              type="button"
              className="swatch"
              style={{ background: hex }}
              aria-label={`Colour ${c} (${COLOR_NAMES[c]})`}
              aria-pressed={color === c}
              title={`${c} ${COLOR_NAMES[c]} (key ${c})`}
              onClick={() => pickColor(c)}
            />
          ))}
        </div>
      </div>
      <GridCanvas
        grid={draft.grid}
        label={`Test ${n} output (editing)`}
        maxHeight={420}
        maxCell={40}
        minCell={8}
        draw={{ selection }}
        onCellPointer={onCell}
      />
      <div className="editor-actions">
        <form
          className="size-form"
          onSubmit={(e) => {
            e.preventDefault();
            applySize();
          }}
        >
          <label>
            Size
            <input
              aria-label={`Output size for test ${n}`}
              value={sizeText}
              onChange={(e) => setSizeText(e.target.value)}
              size={5}
              aria-invalid={sizeError !== null}
            />
          </label>
          <button type="submit">Resize</button>
        </form>
        <button type="button" onClick={() => edit(() => cloneGrid(input))}>
          Copy from input
        </button>
        <button type="button" onClick={() => edit((g) => filledGrid(g.length, g[0].length))}>
          Reset
        </button>
        <button type="button" onClick={() => store().undoDraft(task, index)} disabled={draft.past.length === 0} title="Undo (Ctrl+Z)">
          Undo
        </button>
        <button type="button" onClick={() => store().redoDraft(task, index)} disabled={draft.future.length === 0} title="Redo (Ctrl+Shift+Z)">
          Redo
        </button>
        <button
          type="button"
          className="primary"
          onClick={() => store().checkDraft(task, index)}
          disabled={!solution}
          title={solution ? 'Compare with the known solution' : 'No known solution for this test input'}
        >
          Check
        </button>
      </div>
      {sizeError && <p className="field-error">{sizeError}</p>}
      <p className={`verdict ${check ?? ''}`} role="status">
        {check === 'correct' && '✓ Correct'}
        {check === 'wrong' && '✗ Not yet: the grid differs from the solution'}
        {!check && !solution && 'No known solution for this test input'}
      </p>
    </section>
  );
}
