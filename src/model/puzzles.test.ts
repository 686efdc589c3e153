import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Task } from '../arc/types.ts';
import { ModelMismatchError } from '../engine/errors.ts';
import type { Manifest } from './manifest.ts';
import { loadVariants, planVariants, puzzleRows } from './puzzles.ts';

const golden = resolve(import.meta.dirname, '../../models/golden-h64');
const manifest = JSON.parse(readFileSync(resolve(golden, 'manifest.json'), 'utf8')) as Manifest;
const table = new Uint8Array(readFileSync(resolve(golden, manifest.puzzles.table!.path)));
const ndim = manifest.config.puzzle_emb_ndim;
const tableRow = (r: number) => new Float32Array(Uint8Array.from(table.subarray(r * ndim * 4, (r + 1) * ndim * 4)).buffer);

const task: Task = {
  id: 'abc123',
  train: [{ input: [[1, 2], [3, 4]], output: [[4, 3], [2, 1]] }],
  test: [{ input: [[1, 2, 3]] }],
};

describe('planVariants', () => {
  test('per-task rows come first, original first, capped', () => {
    const m: Manifest = structuredClone(manifest);
    m.puzzles.tasks[task.id] = {
      path: m.puzzles.table!.path,
      variants: [
        { name: 'abc123|||t2|||0123456789', tid: 2, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], row: 3 },
        { name: 'abc123', tid: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], row: 7 },
        { name: 'abc123|||t1|||0918273645', tid: 1, perm: [0, 9, 1, 8, 2, 7, 3, 6, 4, 5], row: 5 },
      ],
    };
    const plan = planVariants(m, task, 2);
    expect(plan.source).toBe('task');
    expect(plan.variants.map((v) => v.row)).toEqual([7, 3]);
    const rows = puzzleRows(m, plan, table);
    expect(rows.subarray(0, ndim)).toEqual(tableRow(7));
    expect(rows.subarray(ndim)).toEqual(tableRow(3));
  });

  test('table identifiers name the task variants', () => {
    const m: Manifest = structuredClone(manifest);
    m.puzzles.table!.identifiers = ['<blank>', 'other', 'abc123|||t5|||0213456789', 'abc123', 'abc1234'];
    const plan = planVariants(m, task, 8);
    expect(plan.source).toBe('table');
    expect(plan.variants.map((v) => [v.row, v.tid, v.perm.join('')])).toEqual([[3, 0, '0123456789'], [2, 5, '0213456789']]);
    expect(puzzleRows(m, plan, table).subarray(ndim)).toEqual(tableRow(2));
  });

  test('unknown tasks run on the blank (zero) row with distinct augmentations', () => {
    const plan = planVariants(manifest, task, 4);
    expect(plan.source).toBe('blank');
    expect(plan.variants).toHaveLength(4);
    expect(plan.variants[0]).toMatchObject({ tid: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(new Set(plan.variants.map((v) => v.name)).size).toBe(4);
    expect(puzzleRows(manifest, plan).every((x) => x === 0)).toBe(true);
  });

  test('a converted model with per-task rows (models/tiny): its own variants and rows', async () => {
    const dir = resolve(import.meta.dirname, '../../models/tiny');
    const tiny = JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')) as Manifest;
    const own = tiny.puzzles.tasks['tiny-a'];
    const read = async (p: string) => new Uint8Array(readFileSync(resolve(dir, p)));
    const { plan, puzzle } = await loadVariants(tiny, { ...task, id: 'tiny-a' }, 8, read);
    expect(plan.source).toBe('task');
    expect(plan.variants.map((v) => v.name)).toEqual(own.variants.map((v) => v.name));
    const file = await read(own.path);
    const w = tiny.config.puzzle_emb_ndim;
    expect(puzzle).toEqual(new Float32Array(Uint8Array.from(file.subarray(0, own.variants.length * w * 4)).buffer));
  });

  test('a row outside the rows file is a named error', () => {
    const m: Manifest = structuredClone(manifest);
    m.puzzles.tasks[task.id] = { path: 'puzzles/table.bin', variants: [{ name: 'abc123', tid: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], row: 99 }] };
    expect(() => puzzleRows(m, planVariants(m, task, 1), table)).toThrow(ModelMismatchError);
  });
});
