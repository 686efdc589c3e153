/**
 * Puzzle-embedding row selection. Rows are tied to upstream's identifiers.json
 * (index → name, 0 = "<blank>"), names being `task` or `task|||t<tid>|||<perm>`
 * (trm-reference.md §3). A TypeScript port cannot regenerate those ids, so
 * identifiers.json is an input, checked against the table's row count.
 */
import type { Variant } from '../model/manifest.ts';
import { parseVariantName } from '../arc/augment.ts';
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
      try {
        const { aug } = parseVariantName(identifiers[r]);
        return { name: identifiers[r], tid: aug.tid, perm: [...aug.perm], row: i };
      } catch (e) {
        throw new IdentifiersError(`${where}[${r}]: ${(e as Error).message}`);
      }
    });
    return { task, rows, variants };
  });
}
