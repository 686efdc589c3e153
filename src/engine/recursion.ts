/**
 * The unrolled TRM recursion, written against the onnxruntime-common API so
 * that onnxruntime-node (CLI, tests) and onnxruntime-web (worker, WASM or
 * WebGPU) run the very same loop. Per ACT step:
 *   repeat H_cycles: (repeat L_cycles: z_L = block(z_L, z_H, x)); z_H = block(z_H, z_L, 0)
 * and a readout of z_H after every H-cycle is streamed as a frame.
 * z_H/z_L never leave the session's device: only grids, confidences and q values come back.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { ModelConfig } from '../model/manifest.ts';

/** The part of an onnxruntime binding the engine uses (node and web both fit). */
export interface OrtBinding {
  Tensor: typeof Tensor;
}

export interface TrmSessions {
  embed: InferenceSession;
  block: InferenceSession;
  readout: InferenceSession;
}

/** One readout after an H-cycle, for the whole batch of variants. */
export interface BatchFrame {
  /** ACT step, 0-based. */
  act: number;
  /** H-cycle within the step, 0-based. */
  h: number;
  batch: number;
  /** argmax tokens, uint8 [batch, seq_len]. */
  grid: Uint8Array;
  /** softmax probability of the argmax token, float32 [batch, seq_len]. */
  confidence: Float32Array;
  qHalt: Float32Array;
  qContinue: Float32Array;
  /** float32 [batch, seq_len, vocab]; only when requested (golden tests, parity). */
  logits?: Float32Array;
}

/** Lets a caller pause, single-step or cancel between block calls. */
export interface RunControl {
  /** Awaited before every session call; may wait (paused) or throw (cancelled). */
  checkpoint(): Promise<void>;
}

export interface RunOptions {
  config: ModelConfig;
  /** int32 [batch, seq_len] token canvas per variant. */
  tokens: Int32Array;
  /** float32 [batch, puzzle_emb_ndim] puzzle row per variant (zeros = blank). */
  puzzle: Float32Array;
  batch: number;
  /** ACT steps to run; defaults to config.halt_max_steps. */
  steps?: number;
  /** Stop after the first ACT step where every variant has sigmoid(q_halt) > 0.5. */
  stopAtHalt?: boolean;
  /** Read back logits on every frame (only the last H-cycle of a step if 'act'). */
  logits?: 'none' | 'act' | 'all';
  /** Read back a readout after every H-cycle (default) or only at the end of each ACT step. */
  frames?: 'h' | 'act';
  control?: RunControl;
  onFrame?: (frame: BatchFrame) => void | Promise<void>;
}

export interface RunResult {
  /** The last frame (end of the last ACT step run). */
  last: BatchFrame;
  /** ACT steps actually run. */
  steps: number;
  /** Per variant: first ACT step (0-based) where sigmoid(q_halt) > 0.5, or -1. */
  haltStep: number[];
}

const dispose = (t: Tensor | undefined) => {
  // CPU tensors have nothing to free; GPU-resident outputs must be released or they leak.
  if (t && t.location === 'gpu-buffer') t.dispose();
};

async function readFloat(t: Tensor): Promise<Float32Array> {
  return (await t.getData(true)) as Float32Array;
}

export async function runRecursion(ort: OrtBinding, s: TrmSessions, o: RunOptions): Promise<RunResult> {
  const { config: c, batch } = o;
  const steps = o.steps ?? c.halt_max_steps;
  const frames = o.frames ?? 'h';
  const logitsMode = o.logits ?? 'none';
  if (o.tokens.length !== batch * c.seq_len) throw new RangeError(`tokens has ${o.tokens.length} values, expected ${batch}×${c.seq_len}`);
  if (o.puzzle.length !== batch * c.puzzle_emb_ndim) throw new RangeError(`puzzle has ${o.puzzle.length} values, expected ${batch}×${c.puzzle_emb_ndim}`);

  const ctl = async () => { if (o.control) await o.control.checkpoint(); };

  await ctl();
  const emb = await s.embed.run({
    tokens: new ort.Tensor('int32', o.tokens, [batch, c.seq_len]),
    puzzle: new ort.Tensor('float32', o.puzzle, [batch, c.puzzle_emb_ndim]),
  });
  const x = emb.x, zeros = emb.zeros;
  let zH = emb.z_H, zL = emb.z_L;
  const haltStep = new Array<number>(batch).fill(-1);
  let last: BatchFrame | undefined;
  let ran = 0;

  try {
    for (let act = 0; act < steps; act++) {
      for (let h = 0; h < c.H_cycles; h++) {
        for (let l = 0; l < c.L_cycles; l++) {
          await ctl();
          const out = (await s.block.run({ state: zL, inj_a: zH, inj_b: x })).out;
          dispose(zL);
          zL = out;
        }
        await ctl();
        const out = (await s.block.run({ state: zH, inj_a: zL, inj_b: zeros })).out;
        dispose(zH);
        zH = out;

        const endOfStep = h === c.H_cycles - 1;
        if (frames === 'h' || endOfStep) {
          const wantLogits = logitsMode === 'all' || (logitsMode === 'act' && endOfStep);
          const names = ['grid', 'confidence', 'q_halt', 'q_continue', ...(wantLogits ? ['logits'] : [])];
          const r = await s.readout.run({ z_H: zH }, names);
          const frame: BatchFrame = {
            act, h, batch,
            grid: (await r.grid.getData(true)) as Uint8Array,
            confidence: await readFloat(r.confidence),
            qHalt: await readFloat(r.q_halt),
            qContinue: await readFloat(r.q_continue),
            logits: wantLogits ? await readFloat(r.logits) : undefined,
          };
          last = frame;
          if (o.onFrame) await o.onFrame(frame);
        }
      }
      ran = act + 1;
      for (let b = 0; b < batch; b++) if (haltStep[b] < 0 && last!.qHalt[b] > 0) haltStep[b] = act;
      if (o.stopAtHalt && haltStep.every((s) => s >= 0)) break;
    }
  } finally {
    for (const t of [x, zeros, zH, zL]) dispose(t);
  }
  if (!last) throw new RangeError('no ACT step was run (steps = 0)');
  return { last, steps: ran, haltStep };
}
