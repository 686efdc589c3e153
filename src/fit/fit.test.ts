/**
 * Fitting smoke test on the tiny synthetic preset (the models/tiny dimensions),
 * converted with --grad in memory: a few Adam steps lower the demonstrations'
 * loss measured from a fresh carry, and oversized grids are refused.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Task } from '../arc/types.ts';
import { convertSynthesizedWithGrad, PRESETS } from '../convert/synth.ts';
import { demonstrationLoss, fitPuzzleRow, taskExamples, FitError } from './fit.ts';
import { openFitSessions, releaseFitSessions } from './sessions.ts';

const flip = (g: number[][]) => g.map((r) => [...r].reverse());
const TASK: Task = {
  id: 'flip',
  train: [[[1, 2, 3], [4, 5, 6]], [[7, 0], [0, 8], [3, 3]], [[2, 2, 5, 1]]].map((input) => ({ input, output: flip(input) })),
  test: [{ input: [[1, 0], [0, 2]] }],
};

describe('fitting a puzzle row (tiny preset)', () => {
  it('lowers the demonstration loss in a few steps', async () => {
    const { manifest, sink } = await convertSynthesizedWithGrad(PRESETS.tiny);
    const s = await openFitSessions(ort, manifest, async (p) => sink.files.get(p)!, { intraOpNumThreads: 1 });
    try {
      const c = manifest.config;
      const examples = taskExamples(TASK, c.grid_size);
      const init = new Float32Array(c.puzzle_emb_ndim);
      const before = await demonstrationLoss(ort, s, c, examples, init);
      const progress: number[] = [];
      const { row, losses } = await fitPuzzleRow(ort, s, {
        config: c, examples, init, steps: 12, lr: 5e-2, maxBatch: 2, onProgress: (p) => { progress.push(p.step); },
      });
      const after = await demonstrationLoss(ort, s, c, examples, row);
      console.log(`tiny fit: loss from a fresh carry ${before.toFixed(4)} → ${after.toFixed(4)}; per-step ${losses.map((l) => l.toFixed(3)).join(' ')}`);
      expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(after).toBeLessThan(before);

      // Chunking is only a memory limit: one demonstration per call gives the same loss.
      const chunked = await demonstrationLoss(ort, s, c, examples, row, 1);
      expect(Math.abs(chunked - after)).toBeLessThan(1e-5 * after);

      // Cancelling through the control stops the loop with the control's error.
      let calls = 0;
      const control = { checkpoint: async () => { if (++calls > 5) throw new Error('cancelled by test'); } };
      await expect(fitPuzzleRow(ort, s, { config: c, examples, init, steps: 3, control })).rejects.toThrow('cancelled by test');

      const big: Task = { ...TASK, id: 'big', train: [{ input: [[1, 2, 3, 4, 5, 6, 7]], output: [[1]] }] };
      expect(() => taskExamples(big, c.grid_size)).toThrow(FitError);
      expect(() => taskExamples(big, c.grid_size)).toThrow(/train\[0\]\.input is 1×7, larger than the model's 6×6 canvas/);
    } finally {
      await releaseFitSessions(s);
    }
  });
});
