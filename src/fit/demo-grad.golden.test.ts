/**
 * The demo model's gradient graphs against torch autograd (issue 9: "on the demo model, it
 * matches torch autograd"). models/training/grad_reference.py ran the last H-cycle of one ACT
 * step on one demo task's demonstrations (batch = all of them) with the fitting loss and dumped
 * the graph inputs, the loss, d loss / d row and d loss / d every weight (float32). Here
 * fit_grad.onnx (and fit_full.onnx when the manifest has graphs.gradFull) runs on exactly those
 * inputs with onnxruntime-node. Gradient errors are norm-wise, max |onnx − torch| / max |torch|
 * per tensor, because element-wise ratios blow up on coordinates that are ~0 in both.
 * Other directories: TRM_DEMO_MODEL=/path/to/model TRM_DEMO_GRAD=/path/to/grad-dump.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { f32, i32 } from '../engine/golden-compare.ts';
import { readManifest } from '../engine/node-runtime.ts';
import { modelWeights } from './fit-full.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const MODEL = resolve(process.env.TRM_DEMO_MODEL ?? join(repoRoot, 'models/demo'));
const DUMP = resolve(process.env.TRM_DEMO_GRAD ?? join(repoRoot, 'models/demo-parity/grad'));

interface Expected {
  task: string;
  batch: number;
  seq_len: number;
  seq_total: number;
  puzzle_emb_ndim: number;
  hidden_size: number;
  loss: number;
  loss_per_seq: number[];
  correct: number[];
  float64_stablemax: { loss: number };
  weights: Record<string, { offset: number; shape: number[] }>;
}

/** Norm-wise relative error: max |a − b| / max |b|. */
function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / Math.max(m, 1e-30);
}

// Tolerances: the graph and torch are both float32 with different op orders (fused MatMul vs
// F.linear, ORT's Softmax), so loss agrees to ~1e-6 and gradients to ~1e-5 of their scale;
// 1e-4 / 1e-3 leave head-room for other CPUs without hiding a wrong derivative (those are O(1)).
const LOSS_TOL = 1e-4, GRAD_TOL = 1e-3;

const missing = [join(MODEL, 'manifest.json'), join(DUMP, 'expected.json')].filter((p) => !existsSync(p));
if (missing.length) {
  const why = `demo gradient reference skipped: ${missing.join(' and ')} missing (python3 models/training/grad_reference.py, see models/training/README.md)`;
  console.warn(why);
  describe.skip(why, () => { it('needs the demo model and the torch gradient dump', () => {}); });
} else {
  describe(`gradient graphs of ${MODEL} vs torch autograd (${DUMP})`, async () => {
    const e = JSON.parse(await readFile(join(DUMP, 'expected.json'), 'utf8')) as Expected;
    const manifest = await readManifest(MODEL);
    const c = manifest.config;
    const B = e.batch, N = c.seq_len, S = c.puzzle_emb_len + c.seq_len, D = c.hidden_size;
    const load = async (name: string) => readFile(join(DUMP, name));
    const feeds = async () => ({
      tokens: new ort.Tensor('int32', i32(await load('tokens.bin')), [B, N]),
      labels: new ort.Tensor('int32', i32(await load('labels.bin')), [B, N]),
      puzzle: new ort.Tensor('float32', f32(await load('puzzle.bin')), [B, c.puzzle_emb_ndim]),
      z_H: new ort.Tensor('float32', f32(await load('z_H.bin')), [B, S, D]),
      z_L: new ort.Tensor('float32', f32(await load('z_L.bin')), [B, S, D]),
    });
    const dPuzzleRef = f32(await load('d_puzzle.bin'));
    const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1 };

    it('describes this model', () => {
      // A dump of another model makes every number below meaningless.
      expect(e.seq_len).toBe(c.seq_len);
      expect(e.seq_total).toBe(S);
      expect(e.hidden_size).toBe(D);
      expect(e.puzzle_emb_ndim).toBe(c.puzzle_emb_ndim);
      expect(manifest.graphs.grad, 'models/demo needs fit_grad.onnx (trm convert --grad)').toBeTruthy();
    });

    it('fit_grad.onnx: loss and d loss / d row match torch', async () => {
      const s = await ort.InferenceSession.create(join(MODEL, manifest.graphs.grad!), options);
      try {
        const r = await s.run(await feeds(), ['loss', 'loss_per_seq', 'correct', 'd_puzzle']);
        const loss = (r.loss.data as Float32Array)[0];
        const lossRel = Math.abs(loss - e.loss) / Math.abs(e.loss);
        const dRel = relErr(r.d_puzzle.data as Float32Array, dPuzzleRef);
        console.log(`${e.task} (batch ${B}): loss onnx ${loss.toFixed(6)} torch ${e.loss.toFixed(6)} (rel ${lossRel.toExponential(2)}; ` +
          `torch with float64 stablemax ${e.float64_stablemax.loss.toFixed(6)}), d_row rel err ${dRel.toExponential(2)}`);
        expect(lossRel).toBeLessThan(LOSS_TOL);
        expect(Array.from(r.correct.data as Float32Array)).toEqual(e.correct);
        const perSeq = r.loss_per_seq.data as Float32Array;
        e.loss_per_seq.forEach((v, b) => expect(Math.abs(perSeq[b] - v) / Math.abs(v)).toBeLessThan(LOSS_TOL));
        expect(dRel).toBeLessThan(GRAD_TOL);
      } finally {
        await s.release();
      }
    });

    const full = (manifest.graphs as { gradFull?: string }).gradFull;
    if (!full) {
      it.skip(`fit_full.onnx weight gradients: ${MODEL}/manifest.json has no graphs.gradFull (reconvert with trm convert --grad once the whole-network graph exists)`, () => {});
    } else {
      it('fit_full.onnx: loss, d row and d loss / d every weight match torch', async () => {
        const s = await ort.InferenceSession.create(join(MODEL, full), options);
        try {
          const names = Object.keys(e.weights);
          const absent = names.filter((n) => !s.outputNames.includes(`d_${n}`));
          expect(absent, `fit_full.onnx lacks outputs for weights torch differentiates`).toEqual([]);
          const extra = s.outputNames.filter((n) => n.startsWith('d_') && n !== 'd_puzzle' && !names.includes(n.slice(2)));
          if (extra.length) console.warn(`fit_full.onnx outputs without a torch reference: ${extra.join(', ')}`);
          // fit_full.onnx runs the whole ACT step: it takes the carry at its start (H_init/L_init
          // everywhere, the reference's first step) and the weights as inputs.
          const base = await feeds();
          const expand = (v: Float32Array) => { const a = new Float32Array(B * S * D); for (let i = 0; i < B * S; i++) a.set(v, i * D); return a; };
          const weightFeeds = Object.fromEntries((await modelWeights(manifest, async (p) => new Uint8Array(await readFile(join(MODEL, p)))))
            .filter((w) => s.inputNames.includes(w.name)).map((w) => [w.name, new ort.Tensor('float32', w.data, w.dims)]));
          const r = await s.run({
            ...base, ...weightFeeds,
            z_H: new ort.Tensor('float32', expand(f32(await load('H_init.bin'))), [B, S, D]),
            z_L: new ort.Tensor('float32', expand(f32(await load('L_init.bin'))), [B, S, D]),
          }, ['loss', 'd_puzzle', ...names.map((n) => `d_${n}`)]);
          const all = f32(await load('d_weights.bin'));
          expect(Math.abs((r.loss.data as Float32Array)[0] - e.loss) / Math.abs(e.loss)).toBeLessThan(LOSS_TOL);
          const errs: [string, number][] = [['puzzle', relErr(r.d_puzzle.data as Float32Array, dPuzzleRef)]];
          for (const n of names) {
            const { offset, shape } = e.weights[n];
            const size = shape.reduce((a, b) => a * b, 1);
            expect(r[`d_${n}`].dims).toEqual(shape);
            errs.push([n, relErr(r[`d_${n}`].data as Float32Array, all.subarray(offset, offset + size))]);
          }
          console.log(`fit_full.onnx vs torch, rel err per tensor: ${errs.map(([n, v]) => `${n} ${v.toExponential(2)}`).join(', ')}`);
          for (const [n, v] of errs) expect(v, n).toBeLessThan(GRAD_TOL);
        } finally {
          await s.release();
        }
      });
    }
  });
}
