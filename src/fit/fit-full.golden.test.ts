/**
 * fit_full.onnx (whole-network fine-tuning) with real onnxruntime-node:
 *  1. golden fixtures (upstream's, RoPE; trm-learned-h32, learned positions):
 *     d loss / d weight matches central finite differences of the forward
 *     computation (the first H_cycles − 1 cycles with the model's weights, then
 *     the last H-cycle through embed/block/readout graphs rebuilt with the
 *     perturbed weight) on the largest coordinates of lm_head, a qkv, an MLP
 *     weight, the token embedding and (learned positions) the position table;
 *  2. weights fed as inputs give the same ACT step as forward graphs rebuilt
 *     with those weights (and not the model's own: the feed is not ignored);
 *  3. demo model, one held-out task: 20 full-mode steps lower the loss more
 *     than 20 row-mode steps.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { afterAll, describe, expect, it } from 'vitest';
import { heldOutSuite } from '../arc/generators/index.ts';
import { convertCheckpoint } from '../convert/convert.ts';
import { buildFitFullGraph } from '../convert/graphs.ts';
import { fileSource } from '../convert/node-source.ts';
import { writeModelDir } from '../convert/node-sink.ts';
import { gaussian } from '../convert/synth.ts';
import { fixtureCheckpoint } from '../engine/golden-compare.ts';
import { loadModelDir, readManifest, tableRows } from '../engine/node-runtime.ts';
import { releaseSessions } from '../engine/sessions.ts';
import type { TrmSessions } from '../engine/recursion.ts';
import type { ModelConfig } from '../model/manifest.ts';
import { demonstrationLoss, fitPuzzleRow, taskExamples } from './fit.ts';
import { fitFullNetwork, fullDemonstrationLoss, modelWeights, openFitFullSessions, openTunedSessions, tunedWeights, type FitFullSessions } from './fit-full.ts';
import { openFitSessions, releaseFitSessions } from './sessions.ts';

// Per fixture: the weights whose largest coordinates are checked (how many each).
const FIXTURES = [
  { name: 'trm-upstream-h64', coords: [['lm_head', 2], ['L1_qkv', 2], ['L0_gate_up', 2], ['L1_down', 1], ['embed_tokens', 1]] },
  { name: 'trm-learned-h32', coords: [['lm_head', 1], ['L1_qkv', 1], ['L0_gate_up', 1], ['embed_tokens', 1], ['embed_pos', 3]] },
] as const;
const DEMO = resolve(import.meta.dirname, '../../models/demo');
const OPTS: InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 };

/** Upstream's training loss (stablemax CE + 0.5 q_halt BCE) summed over the batch, float64 (as fit.golden.test.ts). */
const stablemax = (x: number) => (x < 0 ? 1 / (1 - x) : x + 1);
function referenceLoss(logits: Float32Array, qHalt: Float32Array, labels: Int32Array, B: number, N: number, V: number): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    let ce = 0, count = 0, exact = 1;
    for (let i = 0; i < N; i++) {
      const y = labels[b * N + i];
      if (y === 0) continue;
      const z = logits.subarray((b * N + i) * V, (b * N + i + 1) * V);
      let max = -Infinity, arg = 0, sum = 0;
      z.forEach((v, k) => { if (v > max) { max = v; arg = k; } sum += stablemax(v); });
      ce += Math.log(sum) - Math.log(stablemax(z[y]));
      count++;
      if (arg !== y) exact = 0;
    }
    const q = qHalt[b];
    total += ce / Math.max(count, 1) + 0.5 * (Math.max(q, 0) + Math.log1p(Math.exp(-Math.abs(q))) - q * exact);
  }
  return total;
}

/** One ACT step through plain forward sessions: H_cycles − 1 cycles with `early`, the last with `last`. */
async function forwardStep(c: ModelConfig, early: TrmSessions, last: TrmSessions, tokens: Tensor, puzzle: Tensor) {
  const e0 = await early.embed.run({ tokens, puzzle });
  let zH: Tensor = e0.z_H, zL: Tensor = e0.z_L;
  for (let h = 0; h < c.H_cycles - 1; h++) {
    for (let l = 0; l < c.L_cycles; l++) zL = (await early.block.run({ state: zL, inj_a: zH, inj_b: e0.x })).out;
    zH = (await early.block.run({ state: zH, inj_a: zL, inj_b: e0.zeros })).out;
  }
  const e = last === early ? e0 : await last.embed.run({ tokens, puzzle });
  for (let l = 0; l < c.L_cycles; l++) zL = (await last.block.run({ state: zL, inj_a: zH, inj_b: e.x })).out;
  zH = (await last.block.run({ state: zH, inj_a: zL, inj_b: e.zeros })).out;
  const r = await last.readout.run({ z_H: zH }, ['logits', 'q_halt']);
  return { zH: zH.data as Float32Array, zL: zL.data as Float32Array, logits: r.logits.data as Float32Array, qHalt: r.q_halt.data as Float32Array, init: e0 };
}

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

for (const fixture of FIXTURES) describe(`fit_full.onnx on the golden fixture ${fixture.name}`, () => {
  const FIXTURE = resolve(import.meta.dirname, '../convert/fixtures', fixture.name);
  const out = mkdtemp(join(tmpdir(), 'trm-fitfull-'));
  afterAll(async () => rm(await out, { recursive: true, force: true }));

  it('d loss / d weight matches finite differences; fed weights equal rebuilt graphs', async () => {
    const checkpoint = await fixtureCheckpoint(FIXTURE);
    expect(checkpoint, `no checkpoint file in ${FIXTURE}`).toBeDefined();
    const src = await fileSource(join(FIXTURE, checkpoint!));
    const dir = join(await out, 'model');
    await writeModelDir(dir, false, async (sink) => convertCheckpoint({
      checkpoint: src,
      config: { text: await readFile(join(FIXTURE, 'all_config.yaml'), 'utf8'), name: 'all_config.yaml' },
      gridSize: 30, table: true, grad: true,
    }, sink)).finally(() => src.close());
    const model = await loadModelDir(dir);
    expect(model.manifest.graphs.gradFull).toBe('fit_full.onnx');
    const c = model.manifest.config, N = c.seq_len, V = c.vocab_size, W = c.puzzle_emb_ndim;
    const s = await openFitFullSessions(ort, model.manifest, async (p) => new Uint8Array(await readFile(join(dir, p))), { ...OPTS, logSeverityLevel: 3 });
    const opened: TrmSessions[] = [];
    try {
      const ids = [...new Int32Array(Uint8Array.from(await readFile(join(FIXTURE, 'puzzle_ids.bin'))).buffer)];
      const B = ids.length;
      const tokensArr = new Int32Array(Uint8Array.from(await readFile(join(FIXTURE, 'inputs.bin'))).buffer);
      const tokens = new ort.Tensor('int32', tokensArr, [B, N]);
      const puzzleArr = await tableRows(model, ids);
      const puzzle = new ort.Tensor('float32', puzzleArr, [B, W]);
      const trained = s.weights.filter((t) => t.trained);
      const feedsOf = (w: Record<string, Float32Array>) => Object.fromEntries(trained.map((t) => [t.name, new ort.Tensor('float32', w[t.name] ?? t.data, t.dims)]));
      const e0 = await model.sessions.embed.run({ tokens, puzzle });
      const runFull = async (w: Record<string, Float32Array>) => s.full.run({ tokens, puzzle, z_H: e0.z_H, z_L: e0.z_L, labels: tokens, ...feedsOf(w) });

      const t0 = performance.now();
      const r = await runFull({});
      const fullMs = performance.now() - t0;
      const loss = (r.loss.data as Float32Array)[0];
      const base = await forwardStep(c, model.sessions, model.sessions, tokens, puzzle);
      const baseLoss = referenceLoss(base.logits, base.qHalt, tokensArr, B, N, V);
      expect(Math.abs(loss - baseLoss) / baseLoss, `graph loss ${loss} vs forward graphs ${baseLoss}`).toBeLessThan(1e-5);

      // Finite differences: only the last H-cycle sees the perturbed weight, as only it carries gradient.
      const lossWith = async (name: string, k: number, delta: number) => {
        const w = Float32Array.from(trained.find((t) => t.name === name)!.data);
        w[k] += delta;
        const tuned = await openTunedSessions(ort, c, tunedWeights(c, s.weights, { [name]: w }), OPTS);
        opened.push(tuned);
        const f = await forwardStep(c, model.sessions, tuned, tokens, puzzle);
        await releaseSessions(tuned);
        opened.pop();
        return referenceLoss(f.logits, f.qHalt, tokensArr, B, N, V);
      };
      const lines: string[] = [];
      // The token table checks Gather's one-hot rule; the position table, the learned-position Add.
      for (const [name, coords] of fixture.coords) {
        const d = r[`d_${name}`].data as Float32Array;
        expect(d.length).toBe(trained.find((t) => t.name === name)!.data.length);
        for (const k of [...d.keys()].sort((a, b) => Math.abs(d[b]) - Math.abs(d[a])).slice(0, coords)) {
          const eps = 1e-2;
          const fd = ((await lossWith(name, k, eps)) - (await lossWith(name, k, -eps))) / (2 * eps);
          const rel = Math.abs(d[k] - fd) / Math.max(Math.abs(fd), Math.abs(d[k]));
          lines.push(`${name}[${k}]: graph ${d[k].toExponential(4)} fd ${fd.toExponential(4)} rel ${rel.toExponential(2)}`);
          expect(rel, lines.at(-1)).toBeLessThan(1e-2);
        }
      }

      // Modified weights through the inputs vs forward graphs rebuilt with them.
      const rnd = gaussian(5);
      const modified = Object.fromEntries(trained.map((t) => [t.name, Float32Array.from(t.data, (v) => v * (1 + 0.05 * rnd()))]));
      const fed = await runFull(modified);
      const tuned = await openTunedSessions(ort, c, tunedWeights(c, s.weights, modified), OPTS);
      opened.push(tuned);
      const ref = await forwardStep(c, tuned, tuned, tokens, puzzle);
      const dLogits = maxAbs(fed.logits.data as Float32Array, ref.logits);
      const dZH = maxAbs(fed.z_H_out.data as Float32Array, ref.zH), dZL = maxAbs(fed.z_L_out.data as Float32Array, ref.zL);
      const moved = maxAbs(fed.logits.data as Float32Array, base.logits);
      lines.push(`fed vs rebuilt (weights ×(1 + 0.05·N(0,1))): max |Δ| logits ${dLogits.toExponential(2)}, z_H ${dZH.toExponential(2)}, z_L ${dZL.toExponential(2)}; vs the model's own weights ${moved.toExponential(2)}`);
      expect(moved).toBeGreaterThan(1e-2);
      expect(Math.max(dLogits, dZH, dZL)).toBeLessThan(1e-4);
      // The same graph built from other weights holds none of them: only the feeds count.
      expect(Buffer.from(buildFitFullGraph(c, tunedWeights(c, s.weights, modified))).equals(Buffer.from(await readFile(join(dir, 'fit_full.onnx'))))).toBe(true);
      console.log(`fit_full golden (B=${B}, ${trained.length} weight tensors, one step ${fullMs.toFixed(0)} ms): loss ${loss.toFixed(5)} (forward graphs ${baseLoss.toFixed(5)})\n  ${lines.join('\n  ')}`);
    } finally {
      for (const t of opened) await releaseSessions(t);
      await s.full.release();
      await releaseSessions(model.sessions);
    }
  }, 300_000);
});

describe('whole-network fine-tuning on the demo model', () => {
  it('20 full-mode steps lower a held-out task\'s loss more than 20 row-mode steps', async () => {
    const manifest = await readManifest(DEMO);
    const c = manifest.config;
    const read = async (p: string) => new Uint8Array(await readFile(join(DEMO, p)));
    // models/demo may predate fit_full.onnx: build it from the weights in its forward graphs.
    const weights = await modelWeights(manifest, read);
    const full: FitFullSessions = {
      full: await ort.InferenceSession.create(buildFitFullGraph(c, tunedWeights(c, weights, {})), { ...OPTS, logSeverityLevel: 3 }),
      weights,
    };
    const rowS = await openFitSessions(ort, manifest, read, OPTS);
    try {
      const task = heldOutSuite({ perFamily: 1, gridSize: c.grid_size }).find((t) => t.family === 'flip')!.task;
      const examples = taskExamples(task, c.grid_size);
      // Upstream's start: the mean of the model's rows.
      const W = c.puzzle_emb_ndim, sum = new Float64Array(W);
      let rows = 0;
      for (const f of (await readdir(join(DEMO, 'puzzles'))).filter((n) => n.endsWith('.bin'))) {
        const a = new Float32Array(Uint8Array.from(await readFile(join(DEMO, 'puzzles', f))).buffer);
        a.forEach((v, i) => { sum[i % W] += v; });
        rows += a.length / W;
      }
      const init = Float32Array.from(sum, (v) => v / rows);
      const steps = 20;
      const before = await demonstrationLoss(ort, rowS, c, examples, init);
      const beforeFull = await fullDemonstrationLoss(ort, full, c, examples, init);
      expect(Math.abs(before - beforeFull) / before, 'fit_grad and fit_full agree on the starting loss').toBeLessThan(1e-4);

      let t0 = performance.now();
      const rowFit = await fitPuzzleRow(ort, rowS, { config: c, examples, init, steps });
      const rowMs = (performance.now() - t0) / steps;
      const rowAfter = await demonstrationLoss(ort, rowS, c, examples, rowFit.row);
      t0 = performance.now();
      const fullFit = await fitFullNetwork(ort, full, { config: c, examples, init, steps });
      const fullMs = (performance.now() - t0) / steps;
      const fullAfter = await fullDemonstrationLoss(ort, full, c, examples, fullFit.row, fullFit.weights);
      console.log(`demo ${task.id} (${examples.length} demonstrations), ${steps} steps from the mean row:\n` +
        `  row : ${rowMs.toFixed(1)} ms/step, training loss ${rowFit.losses[0].toFixed(4)} → ${rowFit.losses.at(-1)!.toFixed(4)}, fresh-carry loss ${before.toFixed(4)} → ${rowAfter.toFixed(4)}\n` +
        `  full: ${fullMs.toFixed(1)} ms/step, training loss ${fullFit.losses[0].toFixed(4)} → ${fullFit.losses.at(-1)!.toFixed(4)}, fresh-carry loss ${before.toFixed(4)} → ${fullAfter.toFixed(4)}`);
      expect(fullAfter).toBeLessThan(rowAfter);
      expect(fullFit.losses.at(-1)!).toBeLessThan(rowFit.losses.at(-1)!);
    } finally {
      await full.full.release();
      await releaseFitSessions(rowS);
    }
  }, 300_000);
});
