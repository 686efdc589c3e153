/**
 * Whole-network fine-tuning on the tiny synthetic preset, converted with --grad
 * in memory: the weights read back from the forward graphs rebuild them byte
 * for byte, a few steps lower the loss, weights actually change, cancelling
 * stops the loop, and the overlay stores and returns the weights exactly.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Task } from '../arc/types.ts';
import { buildGraphsWithWeights, FULL_FIT_MAX_WEIGHTS, trainedWeightCount } from '../convert/graphs.ts';
import { convertSynthesizedWithGrad, PRESETS } from '../convert/synth.ts';
import { taskExamples } from './fit.ts';
import { estimateFullFit, fitFullNetwork, fullDemonstrationLoss, openFitFullSessions, tunedWeights } from './fit-full.ts';
import { readOverlay, readOverlayWeights, writeOverlayRow } from './node-overlay.ts';
import { OverlayError } from './overlay.ts';

const flip = (g: number[][]) => g.map((r) => [...r].reverse());
const TASK: Task = {
  id: 'flip',
  train: [[[1, 2, 3], [4, 5, 6]], [[7, 0], [0, 8], [3, 3]], [[2, 2, 5, 1]]].map((input) => ({ input, output: flip(input) })),
  test: [{ input: [[1, 0], [0, 2]] }],
};

describe('whole-network fine-tuning (tiny preset)', () => {
  it('converts, reads weights back exactly, fits, cancels and round-trips the overlay', async () => {
    const { manifest, sink } = await convertSynthesizedWithGrad(PRESETS.tiny);
    const c = manifest.config;
    expect(manifest.graphs.gradFull).toBe('fit_full.onnx');
    expect(trainedWeightCount(c)).toBeLessThan(FULL_FIT_MAX_WEIGHTS);
    expect(sink.files.has('fit_full.onnx')).toBe(true);
    const s = await openFitFullSessions(ort, manifest, async (p) => sink.files.get(p)!, { intraOpNumThreads: 1 });
    try {
      expect(s.weights.filter((t) => t.trained).reduce((n, t) => n + t.data.length, 0)).toBe(trainedWeightCount(c));
      // Read back from the graphs and rebuilt: the same bytes as the converter wrote.
      const rebuilt = buildGraphsWithWeights(c, tunedWeights(c, s.weights, {}));
      expect(Buffer.from(rebuilt.block).equals(Buffer.from(sink.files.get(manifest.graphs.block.fp32!)!))).toBe(true);
      expect(Buffer.from(rebuilt.embed).equals(Buffer.from(sink.files.get(manifest.graphs.embed)!))).toBe(true);
      expect(Buffer.from(rebuilt.readout).equals(Buffer.from(sink.files.get(manifest.graphs.readout)!))).toBe(true);

      const examples = taskExamples(TASK, c.grid_size);
      const init = new Float32Array(c.puzzle_emb_ndim);
      const before = await fullDemonstrationLoss(ort, s, c, examples, init);

      // The browser's runtime (onnxruntime-web, WASM, here under Node) runs the same graph to the same gradients.
      const web = await import('onnxruntime-web');
      web.env.wasm.numThreads = 1;
      const ws = await web.InferenceSession.create(sink.files.get('fit_full.onnx')!);
      try {
        const S = c.puzzle_emb_len + c.seq_len, D = c.hidden_size, hInit = s.weights.find((t) => t.name === 'H_init')!.data;
        const carry = Float32Array.from({ length: S * D }, (_, i) => hInit[i % D]);
        const raw: [string, 'int32' | 'float32', Int32Array | Float32Array, number[]][] = [
          ['tokens', 'int32', examples[0].tokens, [1, c.seq_len]], ['labels', 'int32', examples[0].labels, [1, c.seq_len]],
          ['puzzle', 'float32', init, [1, c.puzzle_emb_ndim]], ['z_H', 'float32', carry, [1, S, D]], ['z_L', 'float32', carry, [1, S, D]],
          ...s.weights.filter((t) => t.trained).map((t): [string, 'float32', Float32Array, number[]] => [t.name, 'float32', t.data, t.dims]),
        ];
        const wr = await ws.run(Object.fromEntries(raw.map(([n, ty, d, dims]) => [n, new web.Tensor(ty, d, dims)])));
        const nr = await s.full.run(Object.fromEntries(raw.map(([n, ty, d, dims]) => [n, new ort.Tensor(ty, d, dims)])));
        let worst = 0;
        for (const k of ['loss', 'd_puzzle', 'd_embed_tokens', 'd_L0_qkv', 'd_lm_head']) {
          const a = wr[k].data as Float32Array, b = nr[k].data as Float32Array;
          const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
          worst = Math.max(worst, a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0) / scale);
        }
        console.log(`fit_full.onnx onnxruntime-web (wasm) vs onnxruntime-node: worst max |Δ| / max |value| ${worst.toExponential(2)}`);
        expect(worst).toBeLessThan(1e-4);
      } finally {
        await ws.release();
      }
      const steps: number[] = [];
      const r = await fitFullNetwork(ort, s, { config: c, examples, init, steps: 8, lr: 5e-2, weightLr: 3e-3, maxBatch: 2, onProgress: (p) => { steps.push(p.step); } });
      const after = await fullDemonstrationLoss(ort, s, c, examples, r.row, r.weights);
      console.log(`tiny full fit: loss from a fresh carry ${before.toFixed(4)} → ${after.toFixed(4)}; per-step ${r.losses.map((l) => l.toFixed(3)).join(' ')}`);
      expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(after).toBeLessThan(before);
      const base = s.weights.find((t) => t.name === 'L0_qkv')!.data;
      expect(r.weights.L0_qkv.some((v, i) => v !== base[i])).toBe(true);
      expect(Object.keys(r.weights)).not.toContain('H_init');

      const cost = await estimateFullFit(ort, s, { config: c, examples, init, steps: 100 });
      expect(cost.weights).toBe(trainedWeightCount(c));
      expect(cost.optimizerBytes).toBe(8 * cost.weights);
      expect(cost.msPerStep).toBeGreaterThan(0);
      expect(cost.estimatedMs).toBeCloseTo(100 * cost.msPerStep, 6);

      let calls = 0;
      const control = { checkpoint: async () => { if (++calls > 3) throw new Error('cancelled by test'); } };
      await expect(fitFullNetwork(ort, s, { config: c, examples, init, steps: 5, maxBatch: 1, control })).rejects.toThrow('cancelled by test');

      // Overlay: weights stored beside the row come back bit-identical; a row-only refit drops them.
      const dir = await mkdtemp(join(tmpdir(), 'trm-overlay-full-'));
      try {
        const tensors = s.weights.filter((t) => t.trained).map((t) => ({ name: t.name, dims: t.dims, data: r.weights[t.name] }));
        const stats = { mode: 'full' as const, steps: 8, optimizer: 'adam' as const, lr: 5e-2, weight_lr: 3e-3, loss_before: before, loss_after: after, train_exact: 0, train_total: 3 };
        await writeOverlayRow(dir, manifest.name, 'flip', r.row, stats, tensors);
        const overlay = (await readOverlay(dir, manifest.name))!;
        const back = (await readOverlayWeights(dir, overlay, 'flip'))!;
        for (const t of tensors) expect(Buffer.from(back[t.name].buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
        // A truncated weights file is refused with the task and tensor named.
        const bin = join(dir, overlay.weights!.flip.path);
        await writeFile(bin, (await readFile(bin)).subarray(0, 100));
        await expect(readOverlayWeights(dir, overlay, 'flip')).rejects.toThrow(OverlayError);
        await writeOverlayRow(dir, manifest.name, 'flip', r.row, { ...stats, mode: 'row' });
        expect((await readOverlay(dir, manifest.name))!.weights?.flip).toBeUndefined();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      await s.full.release();
    }
  }, 60_000);
});
