/**
 * fit_grad.onnx on the golden fixture: its loss equals the loss computed here
 * (float64) from the plain forward graphs' logits, and d loss / d puzzle row
 * matches central finite differences of the forward graphs (embed → L_cycles +
 * 1 block calls → readout) on the coordinates with the largest gradient.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Tensor } from 'onnxruntime-common';
import { afterAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../convert/convert.ts';
import { fileSource } from '../convert/node-source.ts';
import { writeModelDir } from '../convert/node-sink.ts';
import { loadModelDir, tableRows } from '../engine/node-runtime.ts';
import { releaseSessions } from '../engine/sessions.ts';

const FIXTURE = resolve(import.meta.dirname, '../convert/fixtures/trm-upstream-h64');

/** Upstream's training loss (losses.py: stablemax cross-entropy + 0.5 q_halt BCE), summed over the batch, in float64. */
const stablemax = (x: number) => (x < 0 ? 1 / (1 - x) : x + 1);

function referenceLoss(logits: Float32Array, qHalt: Float32Array, labels: Int32Array, B: number, N: number, V: number): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    let ce = 0, count = 0, exact = 1;
    for (let i = 0; i < N; i++) {
      const y = labels[b * N + i];
      if (y === 0) continue;
      const z = logits.subarray((b * N + i) * V, (b * N + i + 1) * V);
      let max = -Infinity, arg = 0;
      z.forEach((v, k) => { if (v > max) { max = v; arg = k; } });
      let sum = 0;
      for (const v of z) sum += stablemax(v);
      ce += Math.log(sum) - Math.log(stablemax(z[y]));
      count++;
      if (arg !== y) exact = 0;
    }
    const q = qHalt[b];
    const softplus = Math.max(q, 0) + Math.log1p(Math.exp(-Math.abs(q)));
    total += ce / Math.max(count, 1) + 0.5 * (softplus - q * exact);
  }
  return total;
}

describe('fit_grad.onnx on the golden fixture', () => {
  const out = mkdtemp(join(tmpdir(), 'trm-fitgrad-'));
  afterAll(async () => rm(await out, { recursive: true, force: true }));

  it('d loss / d puzzle row matches central finite differences of the forward graphs', async () => {
    const src = await fileSource(join(FIXTURE, 'step_0'));
    const dir = join(await out, 'model');
    await writeModelDir(dir, false, async (sink) => convertCheckpoint({
      checkpoint: src,
      config: { text: await readFile(join(FIXTURE, 'all_config.yaml'), 'utf8'), name: 'all_config.yaml' },
      gridSize: 30,
      table: true,
      grad: true,
    }, sink)).finally(() => src.close());
    const model = await loadModelDir(dir);
    expect(model.manifest.graphs.grad).toBe('fit_grad.onnx');
    const grad = await ort.InferenceSession.create(new Uint8Array(await readFile(join(dir, model.manifest.graphs.grad!))));
    const c = model.manifest.config, s = model.sessions;
    const N = c.seq_len, V = c.vocab_size, W = c.puzzle_emb_ndim;
    try {
      const ids = [...new Int32Array(Uint8Array.from(await readFile(join(FIXTURE, 'puzzle_ids.bin'))).buffer)];
      const B = ids.length;
      const tokensArr = new Int32Array(Uint8Array.from(await readFile(join(FIXTURE, 'inputs.bin'))).buffer);
      // Target: reproduce the input canvas (any labels do; these have PAD to ignore and EOS to count).
      const labels = new ort.Tensor('int32', tokensArr, [B, N]);
      const tokens = new ort.Tensor('int32', tokensArr, [B, N]);
      const puzzle = await tableRows(model, ids);
      const embed = async (p: Float32Array) => s.embed.run({ tokens, puzzle: new ort.Tensor('float32', p, [B, W]) });

      // The carry entering the last H-cycle of the first ACT step (first H_cycles − 1 cycles, no gradient).
      const e0 = await embed(puzzle);
      let zH: Tensor = e0.z_H, zL: Tensor = e0.z_L;
      for (let h = 0; h < c.H_cycles - 1; h++) {
        for (let l = 0; l < c.L_cycles; l++) zL = (await s.block.run({ state: zL, inj_a: zH, inj_b: e0.x })).out;
        zH = (await s.block.run({ state: zH, inj_a: zL, inj_b: e0.zeros })).out;
      }
      const lastCycleLoss = async (p: Float32Array) => {
        const e = await embed(p);
        let l = zL;
        for (let k = 0; k < c.L_cycles; k++) l = (await s.block.run({ state: l, inj_a: zH, inj_b: e.x })).out;
        const h = (await s.block.run({ state: zH, inj_a: l, inj_b: e.zeros })).out;
        const r = await s.readout.run({ z_H: h }, ['logits', 'q_halt']);
        return referenceLoss(r.logits.data as Float32Array, r.q_halt.data as Float32Array, tokensArr, B, N, V);
      };

      const r = await grad.run({ tokens, puzzle: new ort.Tensor('float32', puzzle, [B, W]), z_H: zH, z_L: zL, labels });
      const loss = (r.loss.data as Float32Array)[0];
      const d = r.d_puzzle.data as Float32Array;
      expect(d.length).toBe(B * W);
      const forwardLoss = await lastCycleLoss(puzzle);
      expect(Math.abs(loss - forwardLoss) / forwardLoss, `graph loss ${loss} vs forward graphs ${forwardLoss}`).toBeLessThan(1e-5);

      const coords = [...d.keys()].sort((a, b) => Math.abs(d[b]) - Math.abs(d[a])).slice(0, 4);
      const errors: string[] = [];
      for (const k of coords) {
        // The row is scaled by √D before use; eps is small against its entries but far above float32 noise of the loss.
        const eps = 1e-2;
        const at = (delta: number) => { const p = Float32Array.from(puzzle); p[k] += delta; return p; };
        const fd = ((await lastCycleLoss(at(eps))) - (await lastCycleLoss(at(-eps)))) / (2 * eps);
        const rel = Math.abs(d[k] - fd) / Math.max(Math.abs(fd), Math.abs(d[k]));
        errors.push(`row ${Math.floor(k / W)} coord ${k % W}: graph ${d[k].toExponential(4)} fd ${fd.toExponential(4)} rel ${rel.toExponential(2)}`);
        expect(rel, errors.at(-1)).toBeLessThan(1e-2);
      }
      console.log(`fit_grad golden: loss ${loss.toFixed(5)} (forward graphs ${forwardLoss.toFixed(5)})\n  ${errors.join('\n  ')}`);
    } finally {
      await grad.release();
      await releaseSessions(s);
    }
  }, 120_000);
});
