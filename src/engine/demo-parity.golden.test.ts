/**
 * Parity of the committed demo model with the torch model it was converted from: the training
 * script (models/training/train.py --parity-out) ran a few held-out test inputs through the
 * trained model in float32; the engine loop over onnxruntime-node must reproduce its per-ACT-step
 * argmax, q values and logits. Nothing is converted here: models/demo is tested as committed.
 * Other directories: TRM_DEMO_MODEL=/path/to/model TRM_DEMO_PARITY=/path/to/parity-dump.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectFramesMatch, f32, i32, runActSteps, maxAbsDiff } from './golden-compare.ts';
import { loadModelDir } from './node-runtime.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const MODEL = resolve(process.env.TRM_DEMO_MODEL ?? join(repoRoot, 'models/demo'));
const PARITY = resolve(process.env.TRM_DEMO_PARITY ?? join(repoRoot, 'models/demo-parity'));
const missing = [MODEL, PARITY].filter((d) => !existsSync(join(d, d === MODEL ? 'manifest.json' : 'expected.json')));

interface Expected {
  batch: number;
  seq_len: number;
  grid_size: number;
  vocab: number;
  act_steps: number;
  hidden_size: number;
  variants: string[];
  steps: { argmax: number[][]; q_halt: number[]; q_continue: number[] }[];
}

if (missing.length) {
  const why = `demo parity skipped: ${missing.join(' and ')} missing (train with models/training, or set TRM_DEMO_MODEL / TRM_DEMO_PARITY)`;
  console.warn(why);
  describe.skip(why, () => {
    it('needs the demo model and its parity dump', () => {});
  });
} else {
  describe(`demo parity ${MODEL} vs ${PARITY}`, () => {
    it('runs every ACT step in fp32 and matches the torch model', async () => {
      const expected = JSON.parse(await readFile(join(PARITY, 'expected.json'), 'utf8')) as Expected;
      const model = await loadModelDir(MODEL, 'fp32');
      const c = model.manifest.config;
      // The dump must describe this model, or every comparison below is meaningless.
      expect(c.seq_len).toBe(expected.seq_len);
      expect(c.grid_size).toBe(expected.grid_size);
      expect(c.vocab_size).toBe(expected.vocab);
      expect(c.puzzle_emb_ndim).toBe(expected.hidden_size);
      expect(expected.steps).toHaveLength(expected.act_steps);

      const B = expected.batch, N = c.seq_len, V = c.vocab_size;
      // The dumped rows themselves, not the model's: this checks the network, and the rows
      // separately below (they must be the model's rows for the same variant names).
      const rows = f32(await readFile(join(PARITY, 'puzzle_rows.bin')));
      expect(rows.length).toBe(B * c.puzzle_emb_ndim);
      const frames = await runActSteps(model, B, i32(await readFile(join(PARITY, 'inputs.bin'))), rows, expected.act_steps);

      // The converted rows are the trained ones: each dumped variant's row is in the model directory.
      const ndim = c.puzzle_emb_ndim;
      for (const [b, name] of expected.variants.entries()) {
        const task = Object.values(model.manifest.puzzles.tasks).find((t) => t.variants.some((v) => v.name === name));
        expect(task, `variant ${name} has no row in ${MODEL}`).toBeDefined();
        const v = task!.variants.find((x) => x.name === name)!;
        const file = f32(await readFile(join(MODEL, task!.path)));
        expect(maxAbsDiff(file.subarray(v.row * ndim, v.row * ndim + ndim), rows.subarray(b * ndim, b * ndim + ndim)), `row of ${name}`).toBe(0);
      }

      expectFramesMatch(frames, expected, {
        seqLen: N, vocab: V, label: 'demo parity',
        logitsFirst: f32(await readFile(join(PARITY, 'logits_first.bin'))),
        logitsLast: f32(await readFile(join(PARITY, 'logits_last.bin'))),
      });
    }, 60_000);
  });
}
