/**
 * One test input, solved the way upstream evaluates it, over runRecursion (the loop itself
 * lives there): every variant's augmented input becomes a token canvas, all variants run as
 * one batch, each frame's argmax canvases are cropped and de-augmented back to the task's
 * frame, and the final predictions are voted into attempt_1 / attempt_2.
 * Pure orchestration over an ORT binding: the worker (onnxruntime-web) and the CLI
 * (onnxruntime-node) both call it.
 */
import { augmentGrid, DIHEDRAL_INVERSE, dihedral, inverseAugmentGrid } from '../arc/augment.ts';
import { cropTokens, gridToTokens } from '../arc/tokens.ts';
import type { Grid } from '../arc/types.ts';
import { attemptsFrom, sigmoid, vote } from '../arc/vote.ts';
import type { ModelConfig } from '../model/manifest.ts';
import type { BackendChoice, FrameBatch, SolveResult, VariantInfo } from './protocol.ts';
import { runRecursion, type OrtBinding, type RunControl, type TrmSessions } from './recursion.ts';

export interface SolveInputs {
  config: ModelConfig;
  taskId: string;
  testIndex: number;
  input: Grid;
  variants: VariantInfo[];
  /** float32 [variants, puzzle_emb_ndim], row i for variants[i]. */
  puzzle: Float32Array;
  backend: BackendChoice;
  steps?: number;
  stopAtHalt?: boolean;
  /** `frameDone` (RunController) ends a single step after each frame; `pausedMs` is left out of timings. */
  control?: RunControl & { frameDone?(): void; pausedMs?: number };
  onFrame?: (frame: FrameBatch) => void | Promise<void>;
}

/** int32 [variants, seq_len]: each variant's augmented input at (0,0) with EOS, as upstream's test split. */
export function variantTokens(input: Grid, variants: readonly VariantInfo[], gridSize: number): Int32Array {
  const n = gridSize * gridSize;
  const out = new Int32Array(variants.length * n);
  variants.forEach((v, i) => out.set(gridToTokens(augmentGrid(input, v), gridSize), i * n));
  return out;
}

/** One variant's canvas back in the task's frame: upstream's crop, then the inverse augmentation. */
export function decodeVariant(
  tokens: Uint8Array, confidence: Float32Array, variant: VariantInfo, gridSize: number,
): { grid: Grid; gridConfidence: number[][] } {
  const cropped = cropTokens(tokens, gridSize);
  const cols = cropped[0]?.length ?? 0;
  // Confidence follows its cells through the geometry; colours do not apply to it.
  const conf = cropped.map((_, r) => Array.from(confidence.subarray(r * gridSize, r * gridSize + cols)));
  return { grid: inverseAugmentGrid(cropped, variant), gridConfidence: dihedral(conf, DIHEDRAL_INVERSE[variant.tid]) };
}

export async function solveTestInput(ort: OrtBinding, sessions: TrmSessions, s: SolveInputs): Promise<SolveResult> {
  const { config: c, variants } = s;
  const batch = variants.length;
  const n = c.seq_len;
  const firstHalt = new Array<boolean>(batch).fill(false);
  const t0 = performance.now();
  /** Milliseconds since t0, not counting time held paused. */
  const activeMs = () => performance.now() - t0 - (s.control?.pausedMs ?? 0);
  const frameTimes: number[] = [];

  const decodeAll = (tokens: Uint8Array, confidence: Float32Array) =>
    variants.map((v, i) => decodeVariant(tokens.subarray(i * n, (i + 1) * n), confidence.subarray(i * n, (i + 1) * n), v, c.grid_size));

  const run = await runRecursion(ort, sessions, {
    config: c,
    tokens: variantTokens(s.input, variants, c.grid_size),
    puzzle: s.puzzle,
    batch,
    steps: s.steps,
    stopAtHalt: s.stopAtHalt,
    control: s.control,
    onFrame: async (f) => {
      const now = activeMs();
      frameTimes.push(now);
      const decoded = decodeAll(f.grid, f.confidence);
      const endOfStep = f.h === c.H_cycles - 1;
      const haltHere = variants.map((_, i) => {
        if (!endOfStep || firstHalt[i] || f.qHalt[i] <= 0) return false;
        return (firstHalt[i] = true);
      });
      await s.onFrame?.({
        act: f.act, h: f.h, batch,
        tokens: f.grid, confidence: f.confidence, qHalt: f.qHalt, qContinue: f.qContinue,
        grids: decoded.map((d) => d.grid), gridConfidence: decoded.map((d) => d.gridConfidence),
        haltHere, elapsedMs: now,
      });
      s.control?.frameDone?.();
    },
  });
  const totalMs = activeMs();

  const finals = decodeAll(run.last.grid, run.last.confidence);
  const predictions = finals.map((d, i) => ({ grid: d.grid, q: sigmoid(run.last.qHalt[i]) }));
  const candidates = vote(finals.map((d, i) => ({ grid: d.grid, qHalt: run.last.qHalt[i] })));
  // Frame-to-frame intervals exclude the embed call and session warm-up of the first frame.
  const intervals = frameTimes.slice(1).map((t, i) => t - frameTimes[i]);
  const perHCycleMs = intervals.length ? intervals.reduce((a, b) => a + b, 0) / intervals.length : totalMs;
  return {
    taskId: s.taskId,
    testIndex: s.testIndex,
    attempts: attemptsFrom(candidates)!,
    candidates,
    variants,
    predictions,
    haltStep: run.haltStep,
    steps: run.steps,
    backend: s.backend,
    timings: {
      totalMs,
      firstFrameMs: frameTimes[0],
      perHCycleMs,
      perActMs: perHCycleMs * c.H_cycles,
    },
  };
}
