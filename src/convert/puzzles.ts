/**
 * Puzzle-embedding row selection. Rows are tied to upstream's identifiers.json
 * (index → name, 0 = "<blank>"), names being `task` or `task|||t<tid>|||<perm>`
 * (trm-reference.md §3). A TypeScript port cannot regenerate those ids, so
 * identifiers.json is an input, checked against the table's row count.
 */
import type { Variant } from '../model/manifest.ts';
import { IdentifiersError } from './errors.ts';

export function parseIdentifiers(text: string, where: string, tableRows: number): string[] {
  let ids: unknown;
  try { ids = JSON.parse(text); } catch (e) { throw new IdentifiersError(`${where}: not valid JSON (${(e as Error).message})`); }
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new IdentifiersError(`${where}: expected a JSON list of identifier names`);
  if (ids.length !== tableRows) {
    throw new IdentifiersError(`${where}: has ${ids.length} names but the checkpoint's puzzle table has ${tableRows} rows; this identifiers.json belongs to a different dataset build (wrong rows would silently score 0%)`);
  }
  return ids;
}

/** Decodes a variant name; the original task is tid 0 with the identity colour map. */
export function parseVariantName(name: string): { task: string; tid: number; perm: number[] } | null {
  const parts = name.split('|||');
  if (parts.length === 1) return { task: name, tid: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] };
  const m = parts.length === 3 && /^t([0-7])$/.exec(parts[1]);
  if (!m || !/^\d{10}$/.test(parts[2])) return null;
  const perm = [...parts[2]].map(Number);
  if (new Set(perm).size !== 10) return null;
  return { task: parts[0], tid: Number(m[1]), perm };
}

export interface TaskSelection {
  task: string;
  /** Identifier index (table row) per variant, in the same order as variants. */
  rows: number[];
  variants: Variant[];
}

/**
 * Per task: its original row first, then up to `maxAugmented` augmented
 * variants in identifier order (upstream's acceptance order).
 */
export function selectTaskRows(identifiers: string[], taskIds: string[], maxAugmented: number, where: string): TaskSelection[] {
  const byTask = new Map<string, { orig: number | null; aug: number[] }>();
  for (const t of taskIds) byTask.set(t, { orig: null, aug: [] });
  identifiers.forEach((name, idx) => {
    const sep = name.indexOf('|||');
    const slot = byTask.get(sep < 0 ? name : name.slice(0, sep));
    if (!slot) return;
    if (sep < 0) slot.orig = idx;
    else slot.aug.push(idx);
  });
  const missing = taskIds.filter((t) => { const s = byTask.get(t)!; return s.orig === null && !s.aug.length; });
  if (missing.length) {
    throw new IdentifiersError(`${where}: ${missing.length} task id(s) have no embedding rows: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''} (tasks not in the training build need the blank row)`);
  }
  return taskIds.map((task) => {
    const s = byTask.get(task)!;
    const rows = [...(s.orig !== null ? [s.orig] : []), ...s.aug.slice(0, maxAugmented)];
    const variants = rows.map((r, i) => {
      const v = parseVariantName(identifiers[r]);
      if (!v) throw new IdentifiersError(`${where}[${r}]: cannot parse variant name "${identifiers[r]}" (expected id|||t<0-7>|||<10-digit colour permutation>)`);
      return { name: identifiers[r], tid: v.tid, perm: v.perm, row: i };
    });
    return { task, rows, variants };
  });
}
