/** `trm gen --held-out`: new tasks of every family that repeat no training or demo input. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoSuite, FAMILIES, heldOutSuite } from '../arc/generators/index.ts';
import type { Grid } from '../arc/types.ts';
import { OptionsError } from '../convert/errors.ts';
import { runGen, solutionsPath } from './gen.ts';

const dir = mkdtempSync(join(tmpdir(), 'trm-heldout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = (g: Grid) => JSON.stringify(g);

describe('held-out tasks', () => {
  it('avoids every excluded input (and so differs when its own inputs are excluded)', () => {
    const first = heldOutSuite({ perFamily: 1 });
    const seen = new Set(first.flatMap(({ task }) => [...task.train, ...task.test].map((p) => key(p.input))));
    const second = heldOutSuite({ perFamily: 1, exclude: first.flatMap(({ task }) => [...task.train, ...task.test].map((p) => p.input)) });
    expect(second).toHaveLength(FAMILIES.length);
    for (const { task } of second) for (const p of [...task.train, ...task.test]) expect(seen.has(key(p.input)), task.id).toBe(false);
    expect(second.map((t) => t.task.id)).not.toEqual(first.map((t) => t.task.id));
  });

  it('writes a challenges file and a solutions file checked against a training set and the demo tasks', async () => {
    const training = join(dir, 'tasks.json'), held = join(dir, 'heldout.json');
    expect(await runGen(['--training', training, '--per-family', '3'])).toBe(0);
    expect(await runGen(['--held-out', held, '--per-family', '2', '--exclude', training])).toBe(0);
    const challenges = JSON.parse(readFileSync(held, 'utf8')) as Record<string, { train: { input: Grid; output: Grid }[]; test: { input: Grid; output?: Grid }[] }>;
    const solutions = JSON.parse(readFileSync(solutionsPath(held), 'utf8')) as Record<string, Grid[]>;
    const ids = Object.keys(challenges);
    expect(ids).toHaveLength(2 * FAMILIES.length);
    for (const f of FAMILIES) expect(ids.filter((id) => id.startsWith(`heldout-${f.name}-`))).toHaveLength(2);
    const trainingInputs = (JSON.parse(readFileSync(training, 'utf8')) as { tasks: { train: { input: Grid }[]; test: { input: Grid }[] }[] }).tasks
      .flatMap((t) => [...t.train, ...t.test].map((p) => key(p.input)));
    const forbidden = new Set([...trainingInputs, ...demoSuite().flatMap(({ task }) => task.test.map((p) => key(p.input)))]);
    for (const [id, t] of Object.entries(challenges)) {
      expect(solutions[id]).toHaveLength(t.test.length);
      for (const p of t.test) expect(p.output).toBeUndefined();
      for (const g of [...t.train.flatMap((p) => [p.input, p.output]), ...t.test.map((p) => p.input), ...solutions[id]]) {
        expect(g.length).toBeLessThanOrEqual(10);
        expect(g[0].length).toBeLessThanOrEqual(10);
      }
      for (const p of [...t.train, ...t.test]) expect(forbidden.has(key(p.input)), `${id} repeats a training/demo input`).toBe(false);
    }
  });

  it('refuses an exclude file that is not a training set, naming it', async () => {
    await expect(runGen(['--held-out', join(dir, 'x.json'), '--exclude', join(dir, 'heldout.json')])).rejects.toThrow(OptionsError);
    await expect(runGen(['--held-out', join(dir, 'x.json'), '--exclude', join(dir, 'heldout.json')])).rejects.toThrow(/--exclude .*heldout\.json: format is undefined/);
  });
});
