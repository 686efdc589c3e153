/**
 * `trm fit` end to end on the tiny synthetic preset written with `trm synth --grad`:
 * the overlay holds one float32 row per task in the TaskRows format, its stats show the
 * fit lowered the loss, a second run adds to the overlay, and bad input is refused clearly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
