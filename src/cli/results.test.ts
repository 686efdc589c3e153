import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshBase } from './results.ts';

describe('freshBase', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trm-results-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the plain stem while no result of that name exists, then numbers the next ones', () => {
    expect(freshBase(dir, '2026-12-07-fit')).toBe(join(dir, '2026-12-07-fit'));
    writeFileSync(join(dir, '2026-12-07-fit.json'), '{}');
    expect(freshBase(dir, '2026-12-07-fit')).toBe(join(dir, '2026-12-07-fit-2'));
    // Either file of a pair taken is enough to move on: a .md alone is an earlier result too.
    writeFileSync(join(dir, '2026-12-07-fit-2.md'), '');
    expect(freshBase(dir, '2026-12-07-fit')).toBe(join(dir, '2026-12-07-fit-3'));
    expect(freshBase(dir, '2026-12-07-fit', ['.txt'])).toBe(join(dir, '2026-12-07-fit'));
  });
});
