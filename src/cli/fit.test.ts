/**
 * `trm fit` end to end on the tiny synthetic preset written with `trm synth --grad`:
 * the overlay holds one float32 row per task in the TaskRows format, its stats show the
 * fit lowered the loss, a second run adds to the overlay, and bad input is refused clearly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { trainedWeightCount } from '../convert/graphs.ts';
import { runEval } from './eval.ts';
import { OptionsError } from '../convert/errors.ts';
import { parseOverlay } from '../fit/overlay.ts';
import { runFit } from './fit.ts';
import { runSynth } from './synth.ts';

const out = mkdtempSync(join(tmpdir(), 'trm-fit-cli-'));
const model = join(out, 'tiny'), overlay = join(out, 'overlay');
afterAll(() => rmSync(out, { recursive: true, force: true }));

const flip = (g: number[][]) => g.map((r) => [...r].reverse());
const task = (grids: number[][][]) => ({ train: grids.map((input) => ({ input, output: flip(input) })), test: [{ input: [[1]] }] });

describe('trm fit', () => {
  beforeAll(async () => {
    expect(await runSynth(['--preset', 'tiny', '--out', model, '--grad'])).toBe(0);
  }, 60_000);

  it('writes an overlay row per task and keeps earlier tasks', async () => {
    writeFileSync(join(out, 'flip.json'), JSON.stringify(task([[[1, 2, 3], [4, 5, 6]], [[7, 0], [0, 8]], [[2, 2, 5, 1]], [[3, 4]]])));
    writeFileSync(join(out, 'other.json'), JSON.stringify(task([[[1, 2]], [[3], [4]]])));
    const fit = (file: string, steps: string, extra: string[] = []) => runFit(['--model', model, '--tasks', join(out, file), '--steps', steps, '--lr', '0.05', '--out', overlay, ...extra]);
    expect(await fit('flip.json', '8', ['--hold-out', '1', '--batch', '2'])).toBe(0);
    expect(await fit('other.json', '2')).toBe(0);

    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    const o = parseOverlay(readFileSync(join(overlay, 'overlay.json'), 'utf8'), 'overlay.json', manifest.name);
    expect(Object.keys(o.tasks).sort()).toEqual(['flip', 'other']);
    for (const t of Object.values(o.tasks)) {
      expect(readFileSync(join(overlay, t.path)).length).toBe(t.variants.length * manifest.config.puzzle_emb_ndim * 4);
      expect(t.variants[0]).toMatchObject({ tid: 0, row: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    }
    const s = o.fits.flip;
    expect(s).toMatchObject({ steps: 8, optimizer: 'adam', lr: 0.05, train_total: 3, held_out_total: 1 });
    expect(s.loss_after).toBeLessThan(s.loss_before);
  }, 60_000);

  it('--mode full stores the task\'s fine-tuned weights; trm eval --overlay solves with them', async () => {
    writeFileSync(join(out, 'flip.json'), JSON.stringify(task([[[1, 2, 3], [4, 5, 6]], [[7, 0], [0, 8]], [[2, 2, 5, 1]], [[3, 4]]])));
    const full = join(out, 'overlay-full');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await runFit(['--model', model, '--tasks', join(out, 'flip.json'), '--steps', '4', '--mode', 'full', '--weight-lr', '0.003', '--out', full])).toBe(0);
      const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
      // The cost is printed before fitting starts.
      expect(printed).toMatch(/flip: whole-network fine-tuning of [\d,]+ weights: weights [\d.]+ MiB, Adam state [\d.]+ MiB, gradients [\d.]+ MiB; one step measured \d+ ms × 4 steps ≈ [\d.]+ s/);
      const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
      const o = parseOverlay(readFileSync(join(full, 'overlay.json'), 'utf8'), 'overlay.json', manifest.name);
      expect(o.fits.flip).toMatchObject({ mode: 'full', steps: 4, weight_lr: 0.003 });
      expect(o.fits.flip.loss_after).toBeLessThan(o.fits.flip.loss_before);
      const w = o.weights!.flip;
      expect(w.tensors.map((t) => t.name)).toContain('L0_qkv');
      expect(readFileSync(join(full, w.path)).length).toBe(4 * trainedWeightCount(manifest.config));

      log.mockClear();
      expect(await runEval(['--model', model, '--tasks', join(out, 'flip.json'), '--overlay', full, '--variants', '1', '--steps', '2'])).toBe(0);
      expect(log.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/flip .* task \+ fine-tuned weights/);
      // The weights file is read for the task's solve: a truncated one is refused, naming it.
      writeFileSync(join(full, w.path), readFileSync(join(full, w.path)).subarray(0, 64));
      const bad = await runEval(['--model', model, '--tasks', join(out, 'flip.json'), '--overlay', full, '--variants', '1', '--steps', '2']).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(OptionsError);
      expect((bad as Error).message).toMatch(/weights\/flip\.bin.*outside the file's 64 bytes/);
    } finally {
      log.mockRestore();
    }
    const mode = await runFit(['--model', model, '--tasks', join(out, 'flip.json'), '--mode', 'adapt']).catch((e: unknown) => e);
    expect((mode as Error).message).toMatch(/--mode must be row or full, got "adapt"/);
    const wl = await runFit(['--model', model, '--tasks', join(out, 'flip.json'), '--weight-lr', '0.01']).catch((e: unknown) => e);
    expect((wl as Error).message).toMatch(/--weight-lr applies to --mode full only/);
  }, 120_000);

  it('--variants 2 writes two variants\' rows; trm eval --overlay votes over both', async () => {
    writeFileSync(join(out, 'flip.json'), JSON.stringify(task([[[1, 2, 3], [4, 5, 6]], [[7, 0], [0, 8]], [[2, 2, 5, 1]], [[3, 4]]])));
    const dir = join(out, 'overlay-k2');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await runFit(['--model', model, '--tasks', join(out, 'flip.json'), '--steps', '3', '--lr', '0.05', '--variants', '2', '--hold-out', '1', '--out', dir])).toBe(0);
      const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
      const o = parseOverlay(readFileSync(join(dir, 'overlay.json'), 'utf8'), 'overlay.json', manifest.name);
      const t = o.tasks.flip;
      expect(t.variants).toHaveLength(2);
      expect(t.variants[0]).toMatchObject({ name: 'flip', tid: 0, row: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
      expect(t.variants[1]).toMatchObject({ row: 1 });
      expect(t.variants[1].tid).toBeGreaterThan(0);
      expect(t.variants[1].name).toMatch(/^flip\|\|\|t[1-7]\|\|\|0\d{9}$/);
      expect(readFileSync(join(dir, t.path)).length).toBe(2 * manifest.config.puzzle_emb_ndim * 4);
      // Totals over both variants: 3 trained + 1 held out each.
      expect(o.fits.flip).toMatchObject({ variants: 2, steps: 3, train_total: 6, held_out_total: 2 });

      log.mockClear();
      expect(await runEval(['--model', model, '--tasks', join(out, 'flip.json'), '--overlay', dir, '--steps', '2'])).toBe(0);
      // The task's row: 1 test, 2 variants (of the 8 asked), rows from the overlay ("task").
      expect(log.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/flip\s+1\s+2\s+task\s/);
    } finally {
      log.mockRestore();
    }
    const bad = await runFit(['--model', model, '--tasks', join(out, 'flip.json'), '--variants', '9']).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OptionsError);
    expect((bad as Error).message).toMatch(/--variants must be 1\.\.8/);
  }, 60_000);

  it('refuses grids larger than the canvas, and models without a gradient graph', async () => {
    writeFileSync(join(out, 'big.json'), JSON.stringify(task([[[1, 2, 3, 4, 5, 6, 7]]])));
    const err = await runFit(['--model', model, '--tasks', join(out, 'big.json'), '--out', overlay]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OptionsError);
    expect((err as Error).message).toMatch(/task "big": train\[0\]\.input is 1×7, larger than the model's 6×6 canvas/);
    const plain = join(out, 'plain');
    expect(await runSynth(['--preset', 'tiny', '--out', plain])).toBe(0);
    const noGrad = await runFit(['--model', plain, '--tasks', join(out, 'flip.json')]).catch((e: unknown) => e);
    expect((noGrad as Error).message).toMatch(/no gradient graph.*trm convert --grad/);
  }, 60_000);
});
