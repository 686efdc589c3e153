/**
 * The three ways tasks come in: the file picker, drag-and-drop anywhere on the page, and
 * paste (Ctrl+V of JSON text or copied files, or the Paste dialog).
 */
import { useEffect, useRef, useState } from 'react';
import { pastedSource } from '../../arc/parse.ts';
import { isTextEntry } from '../editor/useEditorKeys.ts';
import { appStore } from '../useAppStore.ts';

function loadFiles(files: FileList | File[] | null | undefined) {
  const list = files ? [...files] : [];
  if (list.length > 0) void appStore.getState().loadFiles(list);
}

function loadText(text: string) {
  if (text.trim()) appStore.getState().loadSources([pastedSource(text)]);
}

export function LoadControls() {
  const inputRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [pasteOpen, setPasteOpen] = useState(false);
  const [pasteText, setPasteText] = useState('');

  useEffect(() => {
    let depth = 0; // dragenter/leave fire for every child element crossed
    const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
    const onEnter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth++;
      setDragging(true);
    };
    const onLeave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const onOver = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault(); // allows the drop
    };
    const onDrop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      setDragging(false);
      loadFiles(e.dataTransfer?.files);
    };
    const onPaste = (e: ClipboardEvent) => {
      if (isTextEntry(e.target)) return;
      const files = e.clipboardData?.files;
      if (files && files.length > 0) {
        e.preventDefault();
        loadFiles(files);
        return;
      }
      const text = e.clipboardData?.getData('text/plain') ?? '';
      if (text.trim()) {
        e.preventDefault();
        loadText(text);
      }
    };
    window.addEventListener('dragenter', onEnter);
    window.addEventListener('dragleave', onLeave);
    window.addEventListener('dragover', onOver);
    window.addEventListener('drop', onDrop);
    window.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('drop', onDrop);
      window.removeEventListener('paste', onPaste);
    };
  }, []);

  return (
    <div className="load-controls">
      <label className="button primary file-button">
        Open task files
        <input
          ref={inputRef}
          type="file"
          accept=".json,application/json"
          multiple
          aria-label="Open task files"
          className="visually-hidden"
          onChange={(e) => {
            loadFiles(e.currentTarget.files);
            e.currentTarget.value = ''; // so choosing the same file again reloads it
          }}
        />
      </label>
      <button type="button" onClick={() => setPasteOpen(true)}>
        Paste JSON
      </button>
      {pasteOpen && (
        <div className="modal-backdrop" onClick={() => setPasteOpen(false)}>
          <form
            className="modal"
            role="dialog"
            aria-label="Paste task JSON"
            onClick={(e) => e.stopPropagation()}
            onSubmit={(e) => {
              e.preventDefault();
              loadText(pasteText);
              setPasteOpen(false);
              setPasteText('');
            }}
          >
            <h2>Paste task JSON</h2>
            <p className="muted small">A single task, a combined challenges map or a solutions map.</p>
            <textarea
              aria-label="Task JSON"
              value={pasteText}
              onChange={(e) => setPasteText(e.target.value)}
              rows={12}
              autoFocus
              spellCheck={false}
              onKeyDown={(e) => e.key === 'Escape' && setPasteOpen(false)}
            />
            <div className="modal-actions">
              <button type="button" onClick={() => setPasteOpen(false)}>
                Cancel
              </button>
              <button type="submit" className="primary" disabled={!pasteText.trim()}>
                Load
              </button>
            </div>
          </form>
        </div>
      )}
      {dragging && (
        <div className="drop-overlay" aria-hidden>
          <div>Drop ARC task files to load them</div>
        </div>
      )}
    </div>
  );
}
