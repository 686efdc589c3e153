/** Naming of benchmark result files, so that a second run on the same day never replaces the first. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `dir/stem`, or `dir/stem-2`, `dir/stem-3`, … : the first base path for which none of
 * `base + ext` exists yet (results are committed, and two runs on one day are two results).
 */
export function freshBase(dir: string, stem: string, exts: readonly string[] = ['.json', '.md']): string {
  for (let n = 1; ; n++) {
    const base = join(dir, n === 1 ? stem : `${stem}-${n}`);
    if (!exts.some((e) => existsSync(base + e))) return base;
  }
}
