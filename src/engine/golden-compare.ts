/**
 * Test support shared by the golden tests: compares the engine's per-ACT-step frames with a
 * reference run (upstream's fixture, or the torch model the demo was trained as).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { fileSource } from '../convert/node-source.ts';
import type { NodeModel } from './node-runtime.ts';
import { runRecursion, type BatchFrame } from './recursion.ts';
import { releaseSessions } from './sessions.ts';

export const f32 = (b: Buffer) => new Float32Array(Uint8Array.from(b).buffer);
export const i32 = (b: Buffer) => new Int32Array(Uint8Array.from(b).buffer);

const FIXTURE_FILES = new Set(['all_config.yaml', 'expected.json', 'inputs.bin', 'puzzle_ids.bin', 'logits_first.bin', 'logits_last.bin']);

/** A golden fixture's checkpoint: the one zip in the directory, whatever its name (step_0, step_723914, …). */
export async function fixtureCheckpoint(dir: string): Promise<string | undefined> {
  const isZip = async (n: string) => {
    if (FIXTURE_FILES.has(n) || !(await stat(join(dir, n))).isFile()) return false;
    const f = await fileSource(join(dir, n));
    const head = f.size >= 4 ? await f.read(0, 4) : new Uint8Array(0);
    await f.close();
    return head.length === 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4;
  };
  const names = await readdir(dir);
  return (await Promise.all(names.map(async (n) => ((await isZip(n)) ? n : undefined)))).find(Boolean);
}

/** Top-2 logit gap of one cell: below the tolerance, float32 reordering may flip the argmax. */
function gap(logits: Float32Array, cell: number, vocab: number) {
  const row = [...logits.subarray(cell * vocab, cell * vocab + vocab)].sort((a, b) => b - a);
  return row[0] - row[1];
}

export function maxAbsDiff(a: Float32Array, b: Float32Array) {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs `steps` ACT steps in one batch, reading a frame with logits at the end of each; releases the sessions. */
export async function runActSteps(model: NodeModel, batch: number, tokens: Int32Array, puzzle: Float32Array, steps: number): Promise<BatchFrame[]> {
  const frames: BatchFrame[] = [];
  try {
    const result = await runRecursion(model.ort, model.sessions, {
      config: model.manifest.config, batch, tokens, puzzle, steps,
      frames: 'act',
      logits: 'act',
      onFrame: (f) => { frames.push(f); },
    });
    expect(result.steps).toBe(steps);
  } finally {
    await releaseSessions(model.sessions);
  }
  expect(frames.length).toBe(steps);
  return frames;
}

export interface ReferenceSteps {
  steps: { argmax: number[][]; q_halt: number[]; q_continue: number[] }[];
}

/**
 * Asserts the reference's criteria on frames read at the end of every ACT step (with logits):
 * argmax identical except near-ties, q values and step-1 logits within 1e-3, later steps and the
 * last logits within 1e-2. After step 1, float32 reordering drift grows with every block
 * application: on the upstream fixture an exact float64 forward is itself 1.8e-3 off q_halt at
 * step 15, 4e-3 off the last logits and flips 2 argmax cells at step 16. So later steps get the
 * same allowance as the last step's logits, for q values and for near-tie cells alike.
 */
export function expectFramesMatch(
  frames: BatchFrame[],
  ref: ReferenceSteps,
  o: { seqLen: number; vocab: number; logitsFirst: Float32Array; logitsLast: Float32Array; label: string },
): void {
  const N = o.seqLen, V = o.vocab;
  expect(frames.length).toBe(ref.steps.length);
  let nearTies = 0, maxQ = 0;
  frames.forEach((f, s) => {
    const exp = ref.steps[s];
    const tol = s === 0 ? 1e-3 : 1e-2;
    for (let b = 0; b < f.batch; b++) {
      for (let i = 0; i < N; i++) {
        if (f.grid[b * N + i] === exp.argmax[b][i]) continue;
        const g = gap(f.logits!, b * N + i, V);
        expect(g, `step ${s + 1} row ${b} cell ${i}: argmax ${f.grid[b * N + i]} vs reference ${exp.argmax[b][i]} with top-2 gap ${g}`).toBeLessThan(tol);
        nearTies++;
      }
      expect(Math.abs(f.qHalt[b] - exp.q_halt[b]), `q_halt step ${s + 1} row ${b}`).toBeLessThan(tol);
      expect(Math.abs(f.qContinue[b] - exp.q_continue[b]), `q_continue step ${s + 1} row ${b}`).toBeLessThan(tol);
      maxQ = Math.max(maxQ, Math.abs(f.qHalt[b] - exp.q_halt[b]), Math.abs(f.qContinue[b] - exp.q_continue[b]));
    }
  });
  const first = maxAbsDiff(frames[0].logits!, o.logitsFirst);
  const last = maxAbsDiff(frames.at(-1)!.logits!, o.logitsLast);
  console.log(`${o.label}: max |Δlogit| step 1 ${first.toExponential(2)}, step ${frames.length} ${last.toExponential(2)}; ` +
    `near-tie argmax flips ${nearTies}; max |Δq| ${maxQ.toExponential(2)}`);
  expect(nearTies, 'argmax flips are only allowed at rare near-ties').toBeLessThanOrEqual(0.002 * frames[0].batch * N * frames.length);
  expect(first).toBeLessThan(1e-3);
  expect(last).toBeLessThan(1e-2);
}
