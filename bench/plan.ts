/**
 * What one benchmark run measures and what each measurement yields (JSON-safe,
 * passed to the Node child process and into the Chromium harness unchanged).
 * Cases are sized from the model's FLOPs so a 239-GFLOP-per-step model gets a
 * few steps on a 2-core machine instead of hours.
 */
import type { ModelConfig, Precision } from '../src/model/manifest.ts';

export type Backend = 'ort-node-cpu' | 'ort-web-wasm' | 'ort-web-webgpu';

export interface Case {
  precision: Precision;
  batch: number;
  /** ACT steps per timed run (step 0 is reported apart, the rest are samples). */
  steps: number;
  /** Also time the fused one-graph step (needs manifest.graphs.step). */
  fused: boolean;
  /** Full halt_max_steps solves to time; 0 = extrapolate from the per-step median. */
  solveReps: number;
}

export interface Stat { median: number; min: number; max: number; n: number }

export interface CaseResult extends Case {
  backend: Backend;
  model: string;
  /** Unrolled engine (runRecursion, a frame after every H-cycle): ms per ACT step. */
  unrolled: Stat;
  /** The first ACT step of the session (allocation, kernel selection, first-run costs). */
  firstStepMs: number;
  fusedStep?: Stat;
  /** ms per halt_max_steps solve; `extrapolated` = halt_max_steps × unrolled median. */
  solve: Stat & { extrapolated: boolean };
  /** Argmax canvas after the last step (for precision agreement; dropped from the JSON). */
  tokens: number[];
}

/** A case that was planned but not run, and why. */
export interface Skipped { backend: Backend; model: string; precision: Precision; batch: number; reason: string }

/**
 * Model FLOPs of one ACT step for one row: H_cycles × (L_cycles + 1) applications of
 * L_layers transformer layers (linear 2·S·params, attention QKᵀ and AV 2·2·S²·D).
 * Embedding and readouts are left out (< 0.1%).
 */
export function flopsPerActStep(c: ModelConfig): number {
  const D = c.hidden_size, I = c.intermediate_size, S = c.puzzle_emb_len + c.seq_len;
  const layerParams = 3 * D * D + D * D + 2 * D * I + I * D;
  const perLayer = 2 * S * layerParams + 4 * S * S * D;
  return c.H_cycles * (c.L_cycles + 1) * c.L_layers * perLayer;
}

/**
 * Single-thread rates (GFLOP/s) used only to size cases: what a busy 2-core machine gave
 * (quiet, notes A4/A5 measured ≈ 140 node and ≈ 28 WASM on plain matmuls).
 */
const RATE: Record<Backend, number> = { 'ort-node-cpu': 20, 'ort-web-wasm': 8, 'ort-web-webgpu': 8 };
const PRECISION_FACTOR: Record<Precision, number> = { fp32: 1, q8: 1, q4: 1, fp16: 0.3 };

export interface PlanOptions {
  backend: Backend;
  config: ModelConfig;
  precisions: Precision[];
  batches: number[];
  /** Samples wanted per measurement. */
  reps: number;
  /** Seconds one case may take (estimated). */
  budgetS: number;
  hasStep: (p: Precision) => boolean;
}

export function planCases(o: PlanOptions): { cases: Case[]; skipped: Omit<Skipped, 'model'>[] } {
  const cases: Case[] = [];
  const skipped: Omit<Skipped, 'model'>[] = [];
  const gflop = flopsPerActStep(o.config) / 1e9;
  for (const batch of o.batches) {
    for (const precision of o.precisions) {
      const fp32S = (gflop * batch) / RATE[o.backend];
      const stepS = fp32S / PRECISION_FACTOR[precision];
      const fused = o.hasStep(precision);
      const runs = fused ? 2 : 1;
      // reps samples + the dropped first step, shrunk to what the budget allows (at least 2 steps).
      // Sized on fp32 so every precision of a batch runs the same steps (agreement compares them).
      const steps = Math.max(2, Math.min(o.reps + 1, Math.floor(o.budgetS / (fp32S * runs))));
      const cost = steps * stepS * runs;
      if (cost > 3 * o.budgetS) {
        skipped.push({ backend: o.backend, precision, batch, reason: `estimated ${Math.round(cost)} s for ${steps} steps exceeds the budget (${o.budgetS} s; raise --budget)` });
        continue;
      }
      const solveS = o.config.halt_max_steps * stepS;
      const solveReps = solveS * o.reps <= o.budgetS ? o.reps : solveS <= o.budgetS ? 1 : 0;
      cases.push({ precision, batch, steps, fused, solveReps });
    }
  }
  return { cases, skipped };
}
