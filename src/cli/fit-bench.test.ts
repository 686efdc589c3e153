/**
 * `trm fit-bench` on one held-out task with 2 fitting steps on the committed demo model (real
 * onnxruntime-node): checks the report's shape and its refusals, not the numbers.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FAMILIES, heldOutSuite } from '../arc/generators/index.ts';
import { OptionsError } from '../convert/errors.ts';
import { runFitBench, type TaskResult } from './fit-bench.ts';

const dir = mkdtempSync(join(tmpdir(), 'trm-fit-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const [{ task }] = heldOutSuite({ perFamily: 1 });
const tasksFile = join(dir, 'heldout.json');
writeFileSync(tasksFile, JSON.stringify({ [task.id]: { train: task.train, test: task.test.map((t) => ({ input: t.input })) } }));

describe('trm fit-bench', () => {
  it('refuses held-out tasks without solutions, and more than 8 variants', async () => {
    await expect(runFitBench(['--tasks', tasksFile, '--steps', '1', '--out', dir])).rejects.toThrow(OptionsError);
    await expect(runFitBench(['--tasks', tasksFile, '--variants', '9', '--out', dir])).rejects.toThrow(/--variants must be 1\.\.8/);
    await expect(runFitBench(['--tasks', tasksFile, '--families', 'recolor,nosuch', '--out', dir])).rejects.toThrow(/--families: unknown family "nosuch"/);
  });

  it('scores blank vs fitted and writes JSON + Markdown', async () => {
    writeFileSync(join(dir, 'heldout-solutions.json'), JSON.stringify({ [task.id]: task.test.map((t) => t.output) }));
    const out = join(dir, 'results');
    const log = vi.spyOn(console, 'log');
    try {
      expect(await runFitBench(['--tasks', tasksFile, '--steps', '2', '--variants', '2', '--no-full', '--out', out])).toBe(0);
      expect(log.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/K = 2 variant\(s\)/);
    } finally {
      log.mockRestore();
    }
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('-fit.json'))!;
    expect(files).toContain(json.replace(/json$/, 'md'));
    const report = JSON.parse(readFileSync(join(out, json), 'utf8')) as { steps: number; K: number; results: TaskResult[] };
    expect(report.steps).toBe(2);
    expect(report.K).toBe(2);
    expect(report.results).toHaveLength(1);
    const [r] = report.results;
    expect(r.task).toBe(task.id);
    for (const v of [r.blank.pass1, r.blank.pass2, r.fitted.pass1, r.fitted.pass2]) expect(v === 0 || v === 1 || v === 0.5).toBe(true);
    expect(r.fitted.msPerStep).toBeGreaterThan(0);
    expect(Number.isFinite(r.fitted.lossFirst) && Number.isFinite(r.fitted.lossLast)).toBe(true);
    expect(readFileSync(join(out, json.replace(/json$/, 'md')), 'utf8')).toMatch(/\| \*\*all\*\* \| 1 \|/);
  }, 120_000);

  it('--families learned benches only the families whose demo tasks the model solves with its own rows', async () => {
    const out = join(dir, 'learned');
    expect(await runFitBench(['--families', 'learned', '--per-family', '1', '--steps', '1', '--variants', '1', '--no-full', '--out', out])).toBe(0);
    const json = readdirSync(out).find((f) => f.endsWith('-fit.json'))!;
    const report = JSON.parse(readFileSync(join(out, json), 'utf8')) as { families: string[]; demoScores: Record<string, number>; results: TaskResult[] };
    const learned = Object.keys(report.demoScores).filter((f) => report.demoScores[f] > 0);
    expect(Object.keys(report.demoScores).sort()).toEqual(FAMILIES.map((f) => f.name).sort());
    expect(learned.length).toBeGreaterThan(0);
    expect(report.families).toEqual(learned);
    expect(report.results.map((r) => r.family)).toEqual(learned);
    expect(readFileSync(join(out, json.replace(/json$/, 'md')), 'utf8')).toMatch(/Families: those the model learned/);
  }, 120_000);
});
