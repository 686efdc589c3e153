/**
 * The timed loops of the benchmark, written against onnxruntime-common so the
 * Node child (onnxruntime-node) and the Chromium harness (onnxruntime-web) run
 * the very same code:
 *  - unrolled: the engine's own runRecursion (block calls + a readout frame per H-cycle),
 *  - fused: the model's one-graph-per-ACT-step `step` graph, carry fed back by hand.
 * Per-step times are taken between consecutive ACT-step ends of one run, so the
 * session's first-run allocation falls in step 0 and is reported apart.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { ModelConfig, Precision } from '../src/model/manifest.ts';
import { runRecursion, type OrtBinding, type TrmSessions } from '../src/engine/recursion.ts';
import type { Backend, Case, CaseResult, Stat } from './plan.ts';

export interface BenchInputs {
  tokens: Int32Array;
  puzzle: Float32Array;
}

export interface StepTimes {
  /** Duration of each ACT step in run order (ms); [0] includes first-run costs. */
  stepMs: number[];
  /** From the call to the first readout (ms). */
  firstFrameMs: number;
  /** Argmax tokens after the last step, uint8 [batch, seq_len]. */
  tokens: Uint8Array;
}

export async function timeUnrolled(ort: OrtBinding, s: TrmSessions, config: ModelConfig, input: BenchInputs, batch: number, steps: number): Promise<StepTimes> {
  const t0 = performance.now();
  let prev = t0;
  let firstFrameMs = -1;
  const stepMs: number[] = [];
  const r = await runRecursion(ort, s, {
    config, batch, steps, ...input, frames: 'h',
    onFrame: (f) => {
      const now = performance.now();
      if (firstFrameMs < 0) firstFrameMs = now - t0;
      if (f.h === config.H_cycles - 1) { stepMs.push(now - prev); prev = now; }
    },
  });
  return { stepMs, firstFrameMs, tokens: r.last.grid };
}

export async function timeFused(ort: OrtBinding, embed: InferenceSession, step: InferenceSession, config: ModelConfig, input: BenchInputs, batch: number, steps: number): Promise<StepTimes> {
  const t0 = performance.now();
  const tokens = new ort.Tensor('int32', input.tokens, [batch, config.seq_len]);
  const puzzle = new ort.Tensor('float32', input.puzzle, [batch, config.puzzle_emb_ndim]);
  // The initial carry is H_init/L_init broadcast, which the embed graph already produces.
  const init = await embed.run({ tokens, puzzle }, ['z_H', 'z_L']);
  let zH: Tensor = init.z_H, zL: Tensor = init.z_L;
  const stepMs: number[] = [];
  let grid: Uint8Array = new Uint8Array(0);
  let prev = t0;
  for (let i = 0; i < steps; i++) {
    const out = await step.run({ tokens, puzzle, z_H: zH, z_L: zL }, ['z_H_out', 'z_L_out', 'grid', 'q_halt']);
    for (const t of [zH, zL]) if (t.location === 'gpu-buffer') t.dispose();
    zH = out.z_H_out; zL = out.z_L_out;
    grid = (await out.grid.getData(true)) as Uint8Array;
    await out.q_halt.getData(true);
    const now = performance.now();
    stepMs.push(now - prev);
    prev = now;
  }
  for (const t of [zH, zL]) if (t.location === 'gpu-buffer') t.dispose();
  return { stepMs, firstFrameMs: stepMs[0], tokens: grid };
}

/** Median and range of the steady-state steps (step 0 dropped when there are others). */
export function summarize(samples: number[]): Stat {
  const xs = (samples.length > 1 ? samples.slice(1) : samples).slice().sort((a, b) => a - b);
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { median, min: xs[0], max: xs[xs.length - 1], n: xs.length };
}

/** Sessions of one precision, opened by the runtime at hand (node or web). */
export interface OpenedModel {
  sessions: TrmSessions;
  step?: InferenceSession;
  release(): Promise<void>;
}

/** Runs one planned case: per-step unrolled, per-step fused, then full solves. */
export async function runCase(
  ort: OrtBinding, open: (p: Precision) => Promise<OpenedModel>, config: ModelConfig,
  input: BenchInputs, c: Case, backend: Backend, model: string, log: (line: string) => void = () => {},
): Promise<CaseResult> {
  const m = await open(c.precision);
  try {
    const label = `${backend} ${model} ${c.precision} b${c.batch}`;
    log(`${label}: unrolled, ${c.steps} steps`);
    const unrolled = await timeUnrolled(ort, m.sessions, config, input, c.batch, c.steps);
    let fusedStep: Stat | undefined;
    if (c.fused && m.step) {
      log(`${label}: fused, ${c.steps} steps`);
      fusedStep = summarize((await timeFused(ort, m.sessions.embed, m.step, config, input, c.batch, c.steps)).stepMs);
    }
    const perStep = summarize(unrolled.stepMs);
    let solve: CaseResult['solve'] = { ...perStep, median: perStep.median * config.halt_max_steps, min: perStep.min * config.halt_max_steps, max: perStep.max * config.halt_max_steps, extrapolated: true };
    if (c.solveReps > 0) {
      const totals: number[] = [];
      for (let r = 0; r < c.solveReps; r++) {
        log(`${label}: solve ${r + 1}/${c.solveReps}`);
        const t0 = performance.now();
        await timeUnrolled(ort, m.sessions, config, input, c.batch, config.halt_max_steps);
        totals.push(performance.now() - t0);
      }
      // Every solve is a sample here (the sessions are warm): keep them all.
      solve = { ...summarize([NaN, ...totals]), extrapolated: false };
    }
    return {
      ...c, backend, model, unrolled: perStep, firstStepMs: unrolled.stepMs[0], fusedStep, solve,
      tokens: Array.from(unrolled.tokens),
    };
  } finally {
    await m.release();
  }
}
