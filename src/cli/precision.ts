/**
 * `trm precision --model DIR`: how far each reduced-precision block graph
 * drifts from fp32 on the same inputs: argmax-token agreement after ACT
 * step 1 and after the last step, and the block graph sizes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gridToTokens } from '../arc/tokens.ts';
import { OptionsError } from '../convert/errors.ts';
import { gaussian } from '../convert/synth.ts';
import type { Precision } from '../model/manifest.ts';
import { loadModelDir, readManifest, tableRows, type NodeModel } from '../engine/node-runtime.ts';
import { runRecursion } from '../engine/recursion.ts';
import { releaseSessions } from '../engine/sessions.ts';
import { parsePrecisions, positiveInt } from './convert.ts';

export const PRECISION_USAGE = `usage: trm precision --model <dir> [--steps N] [--batch B] [--fixture DIR] [--precision LIST] [--threads T]
  --steps N       ACT steps (default: the model's halt_max_steps)
  --batch B       rows (default 1; with --fixture, its first B rows)
  --fixture DIR   take inputs.bin/puzzle_ids.bin from a golden-fixture directory (needs a --table model)
                  instead of random grids with the model's first puzzle row`;

interface Inputs { tokens: Int32Array; puzzle: Float32Array }

async function fixtureInputs(dir: string, model: Awaited<ReturnType<typeof loadModelDir>>, batch: number): Promise<Inputs> {
  const n = model.manifest.config.seq_len;
  const tokens = new Int32Array(Uint8Array.from(await readFile(join(dir, 'inputs.bin'))).buffer);
  const ids = [...new Int32Array(Uint8Array.from(await readFile(join(dir, 'puzzle_ids.bin'))).buffer)];
  if (ids.length < batch) throw new OptionsError(`--fixture ${dir} has only ${ids.length} rows`);
  return { tokens: tokens.slice(0, batch * n), puzzle: await tableRows(model, ids.slice(0, batch)) };
}

/** Random ARC-like grids in test layout, each with the model's first trained puzzle row (also the bench's inputs). */
export async function randomInputs(model: Pick<NodeModel, 'dir' | 'manifest'>, batch: number): Promise<Inputs> {
  const c = model.manifest.config;
  const rnd = gaussian(42);
  const tokens = new Int32Array(batch * c.seq_len);
  for (let b = 0; b < batch; b++) {
    const side = (k: number) => Math.max(1, Math.min(c.grid_size, Math.round(c.grid_size * (0.3 + 0.15 * k))));
    const grid = Array.from({ length: side(b) }, () => Array.from({ length: side(b + 1) }, () => Math.abs(Math.round(rnd() * 3)) % 10));
    tokens.set(gridToTokens(grid, c.grid_size), b * c.seq_len);
  }
  const ndim = c.puzzle_emb_ndim;
  const task = Object.values(model.manifest.puzzles.tasks)[0];
  let row: Float32Array = new Float32Array(ndim);
  if (task) row = new Float32Array(Uint8Array.from(await readFile(join(model.dir, task.path))).buffer).slice(0, ndim);
  else if (model.manifest.puzzles.table && model.manifest.puzzles.table.rows > 1) row = await tableRows(model, [1]);
  const puzzle = new Float32Array(batch * ndim);
  for (let b = 0; b < batch; b++) puzzle.set(row, b * ndim);
  return { tokens, puzzle };
}

export async function runPrecision(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' }, fixture: { type: 'string' },
      precision: { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(PRECISION_USAGE); return 0; }
  if (!values.model) throw new OptionsError(`--model is required\n${PRECISION_USAGE}`);
  const manifest = await readManifest(values.model);
  const available = Object.keys(manifest.graphs.block) as Precision[];
  const wanted = values.precision ? parsePrecisions(values.precision) : available;
  const missing = wanted.filter((p) => !available.includes(p));
  if (missing.length) throw new OptionsError(`${values.model} has no block graph for ${missing.join(', ')} (available: ${available.join(', ')})`);
  const precisions: Precision[] = ['fp32', ...wanted.filter((p) => p !== 'fp32')];
  const steps = positiveInt(values.steps, '--steps', manifest.config.halt_max_steps);
  const batch = positiveInt(values.batch, '--batch', 1);
  const threads = positiveInt(values.threads, '--threads', 1);

  const results: { p: Precision; bytes: number; first: Uint8Array; last: Uint8Array; firstLogits: Float32Array; msPerStep: number }[] = [];
  let inputs: Inputs | undefined;
  for (const p of precisions) {
    const model = await loadModelDir(values.model, p, threads);
    try {
      inputs ??= values.fixture ? await fixtureInputs(values.fixture, model, batch) : await randomInputs(model, batch);
      let first: Uint8Array | undefined;
      let firstLogits: Float32Array | undefined;
      const t0 = performance.now();
      const r = await runRecursion(model.ort, model.sessions, {
        config: manifest.config, batch, ...inputs, steps, frames: 'act', logits: 'act',
        onFrame: (f) => { first ??= f.grid; firstLogits ??= f.logits; process.stderr.write(`\r${p}: step ${f.act + 1}/${steps}`); },
      });
      const msPerStep = (performance.now() - t0) / steps;
      process.stderr.write('\n');
      const path = manifest.graphs.block[p]!;
      results.push({ p, bytes: manifest.files.find((f) => f.path === path)!.bytes, first: first!, last: r.last.grid, firstLogits: firstLogits!, msPerStep });
    } finally {
      await releaseSessions(model.sessions);
    }
  }
  const ref = results[0];
  const agree = (a: Uint8Array, b: Uint8Array) => (100 * a.reduce((n, x, i) => n + (x === b[i] ? 1 : 0), 0)) / a.length;
  // Random-weight models often collapse to one token everywhere; this makes a 0% / 100% agreement readable.
  const logitErr = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
  const topShare = (g: Uint8Array) => { const n = new Map<number, number>(); for (const t of g) n.set(t, (n.get(t) ?? 0) + 1); return (100 * Math.max(...n.values())) / g.length; };
  const c = manifest.config;
  console.log(`${manifest.name}: hidden ${c.hidden_size}, ${c.num_heads} heads, ${c.L_layers} layers, ${c.puzzle_emb_len + c.seq_len} tokens; batch ${batch}, ${steps} ACT steps, inputs ${values.fixture ? `fixture ${values.fixture}` : 'random grids'}`);
  console.log(`| precision | block graph bytes | tokens = fp32 after step 1 | after step ${steps} | max \|Δlogit\| step 1 | most frequent token's share, step 1 / ${steps} | ms per ACT step (CPU) |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.p} | ${r.bytes.toLocaleString('en-US')} | ${agree(r.first, ref.first).toFixed(2)}% | ${agree(r.last, ref.last).toFixed(2)}% | ${logitErr(r.firstLogits, ref.firstLogits).toExponential(1)} | ${topShare(r.first).toFixed(0)}% / ${topShare(r.last).toFixed(0)}% | ${r.msPerStep.toFixed(0)} |`);
  }
  return 0;
}
