/**
 * `trm eval` end to end on the tiny synthetic preset: a first run (no solutions) writes the
 * submission; a solutions file that agrees with its attempt_1 for one task and not the other
 * must then score exactly that task, in the task, family, per-ACT-step and overall numbers.
 * Bad input (missing files, grids beyond the canvas) exits 2 with a clear message.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseSources } from '../arc/parse.ts';
import { validateSubmission, type Submission } from '../arc/submission.ts';
import { writeOverlayRow } from '../fit/node-overlay.ts';
import { runEval, taskFamily } from './eval.ts';
import { runSynth } from './synth.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const out = mkdtempSync(join(tmpdir(), 'trm-eval-cli-'));
const model = join(out, 'tiny');
afterAll(() => rmSync(out, { recursive: true, force: true }));

const demo = { input: [[1, 2], [3, 4]], output: [[2, 1], [4, 3]] };
const tasks = {
  'fam-1': { train: [demo], test: [{ input: [[5, 6, 7], [1, 2, 3]] }] },
  'fam-2': { train: [demo], test: [{ input: [[3, 3], [4, 0]] }] },
};
const tasksFile = join(out, 'challenges.json');

/** Runs `trm eval` in-process and returns what it printed on stdout. */
async function evalOut(args: string[]): Promise<string> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    expect(await runEval(['--model', model, '--tasks', tasksFile, '--steps', '2', ...args])).toBe(0);
    return log.mock.calls.map((c) => c.join(' ')).join('\n');
  } finally {
    log.mockRestore();
  }
}

/** The CLI as a user runs it, for exit codes. */
const cli = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin/trm.js'), 'eval', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('trm eval', () => {
  beforeAll(async () => {
    expect(await runSynth(['--preset', 'tiny', '--out', model])).toBe(0);
    writeFileSync(tasksFile, JSON.stringify(tasks));
  }, 60_000);

  it('scores a task whose solution is the model’s own answer as solved, and writes a valid submission', async () => {
    const first = join(out, 'first.json');
    const unscored = await evalOut(['--variants', '2', '--out', first]);
    expect(unscored).toMatch(/overall \(0 of 2 tasks scored/);
    const sub = JSON.parse(readFileSync(first, 'utf8')) as Submission;
    expect(validateSubmission(sub, parseSources([{ name: tasksFile, text: JSON.stringify(tasks) }]).tasks)).toEqual([]);
    expect(unscored).not.toMatch(/placeholder/); // attempt_1 is the model's answer, not a stand-in

    // fam-1's solution is the model's attempt_1; fam-2's is a grid the model did not answer.
    const wrong = sub['fam-2'][0].attempt_1.map((r) => r.map((v) => (v + 1) % 10));
    const solutions = join(out, 'solutions.json');
    writeFileSync(solutions, JSON.stringify({ 'fam-1': [sub['fam-1'][0].attempt_1], 'fam-2': [wrong] }));
    const second = join(out, 'second.json');
    const text = await evalOut(['--variants', '2', '--solutions', solutions, '--out', second]);
    // Same engine, same inputs: the same answers.
    expect(JSON.parse(readFileSync(second, 'utf8'))).toEqual(sub);

    const row = (id: string) => text.split('\n').find((l) => l.startsWith(`${id} `))!.trim().split(/\s+/);
    // task  tests  variants  rows  pass@1  pass@2 …
    expect(row('fam-1').slice(1, 6)).toEqual(['1', '2', 'blank', '1.000', '1.000']);
    expect(row('fam-2').slice(4, 6)).toEqual(['0.000', '0.000']);
    expect(taskFamily('fam-1')).toBe('fam');
    expect(row('fam').slice(1, 4)).toEqual(['2/2', '0.500', '0.500']);
    // The last ACT step's vote is the final one: 1 of the 2 test inputs has attempt_1 right.
    const steps = text.split('\n').filter((l) => /^\d+ +\d+\/2 +\d+\/2$/.test(l.trim()));
    expect(steps).toHaveLength(2);
    expect(steps[1].trim().split(/\s+/).slice(1)).toEqual(['1/2', '1/2']);
    expect(text).toMatch(/overall \(2 of 2 tasks scored, up to 2 variants, 2 ACT steps, fp32, [\d.]+ s\): pass@1 0\.500 {2}pass@2 0\.500/);
  }, 60_000);

  it('takes fitted rows from an overlay for its tasks only', async () => {
    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    const overlay = join(out, 'overlay');
    const stats = { steps: 1, optimizer: 'adam' as const, lr: 0.01, loss_before: 1, loss_after: 1, train_exact: 0, train_total: 1 };
    await writeOverlayRow(overlay, manifest.name, 'fam-2', new Float32Array(manifest.config.puzzle_emb_ndim).fill(0.5), stats);
    const text = await evalOut(['--variants', '3', '--overlay', overlay]);
    const row = (id: string) => text.split('\n').find((l) => l.startsWith(`${id} `))!.trim().split(/\s+/);
    expect(row('fam-1').slice(2, 4)).toEqual(['3', 'blank']);
    expect(row('fam-2').slice(2, 4)).toEqual(['1', 'task']); // an overlay row is fitted on the original variant only
    const missing = await runEval(['--model', model, '--tasks', tasksFile, '--overlay', join(out, 'no-overlay')]).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/--overlay .*no-overlay: no overlay\.json there/);
  }, 30_000);

  it('counts tasks beyond the canvas as wrong, and refuses bad input with exit code 2', async () => {
    const big = { train: [demo], test: [{ input: Array.from({ length: 7 }, () => [1, 2]), output: [[1]] }] };
    const mixed = join(out, 'mixed.json');
    writeFileSync(mixed, JSON.stringify({ ...tasks, 'big-1': big }));
    const sub = join(out, 'mixed-sub.json');
    const ok = cli(['--model', model, '--tasks', mixed, '--variants', '1', '--steps', '1', '--out', sub]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/big-1: test\[0\]\.input is 7×2, larger than the model's 6×6 canvas: counted as wrong/);
    expect(ok.stdout).toMatch(/^big-1 .* too large +0\.000 +0\.000/m);
    expect(JSON.parse(readFileSync(sub, 'utf8'))['big-1']).toEqual([{ attempt_1: [[0]], attempt_2: [[0]] }]);

    const onlyBig = join(out, 'big-1.json');
    writeFileSync(onlyBig, JSON.stringify(big));
    const tooLarge = cli(['--model', model, '--tasks', onlyBig]);
    expect(tooLarge.status).toBe(2);
    expect(tooLarge.stderr).toMatch(/trm eval: .*big-1: test\[0\]\.input is 7×2, larger than the model's 6×6 canvas/);

    const noTasks = cli(['--model', model, '--tasks', join(out, 'nope.json')]);
    expect(noTasks.status).toBe(2);
    expect(noTasks.stderr).toMatch(/--tasks .*nope\.json: no such file or directory/);
    const noModel = cli(['--model', join(out, 'no-model'), '--tasks', tasksFile]);
    expect(noModel.status).toBe(2);
    expect(noModel.stderr).toMatch(/cannot read .*no-model.*manifest\.json: no such file or directory/);
    const noSolutions = cli(['--model', model, '--tasks', tasksFile, '--solutions', join(out, 'nope-sol.json')]);
    expect(noSolutions.status).toBe(2);
    expect(noSolutions.stderr).toMatch(/--solutions .*nope-sol\.json: cannot read the file/);
  }, 60_000);
});
