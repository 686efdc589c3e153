/**
 * Editor shortcuts (ARC-Interactive parity): 0–9 pick a colour (and fill the selection in
 * Select mode), D/S/F switch tools, Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) undo/redo, Escape
 * clears the selection. Ignored while a text field has focus, so typing stays typing.
 */
import { useEffect } from 'react';
import { fillSelection, type Tool } from '../../arc/editor.ts';
import { appStore } from '../useAppStore.ts';

const TOOL_KEYS: Record<string, Tool> = { d: 'draw', s: 'select', f: 'fill' };

/** True when the event target takes typed text, so global shortcuts and paste must leave it alone. */
export function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'range', 'file'].includes(target.type);
}

export function useEditorKeys(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.altKey || isTextEntry(e.target)) return;
      const s = appStore.getState();
      const task = s.tasks.find((t) => t.id === s.selectedTaskId);
      if (!task) return;
      const index = Math.min(s.activeTest, task.test.length - 1);
      const key = e.key.toLowerCase();
      const mod = e.ctrlKey || e.metaKey;
      if (mod && key === 'z') {
        e.preventDefault();
        if (e.shiftKey) s.redoDraft(task, index);
        else s.undoDraft(task, index);
      } else if (mod && key === 'y') {
        e.preventDefault();
        s.redoDraft(task, index);
      } else if (mod) {
        return;
      } else if (/^[0-9]$/.test(e.key)) {
        const color = Number(e.key);
        s.setColor(color);
        const sel = s.selection;
        if (s.tool === 'select' && sel) s.editDraft(task, index, (g) => fillSelection(g, sel, color));
      } else if (key in TOOL_KEYS) {
        s.setTool(TOOL_KEYS[key]);
      } else if (e.key === 'Escape') {
        s.setSelection(null);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
