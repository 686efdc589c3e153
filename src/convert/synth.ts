/**
 * Random-weight TRM models in upstream's checkpoint format: presets with real
 * dimensions (arc-agi-2) or tiny ones for slow backends (SwiftShader WebGPU).
 * synth writes a torch zip + all_config.yaml (+ identifiers.json) and the CLI
 * then runs the ordinary converter on them, so the writer and the reader are
 * exercised together.
 */
import type { TensorToWrite } from './checkpoint.ts';
import { writeCheckpoint } from './checkpoint.ts';
import { convertCheckpoint, memorySink } from './convert.ts';
import { bytesSource } from './source.ts';
import { expectedShapes, intermediateSize } from './config.ts';
import { toYaml, type YamlValue } from './yaml.ts';

export interface SynthPreset {
  arch: {
    hidden_size: number; num_heads: number; expansion: number; L_layers: number; H_cycles: number; L_cycles: number;
    halt_max_steps: number; puzzle_emb_len: number; puzzle_emb_ndim: number;
  };
  gridSize: number;
  vocab: number;
  /** Synthetic task ids; each gets an original row plus `variantsPerTask` augmented rows. */
  tasks: string[];
  variantsPerTask: number;
  note: string;
}

export const PRESETS: Record<string, SynthPreset> = {
  // trm-reference.md §1 and shared/fixtures/seed-config/all_config.yaml (a test checks they agree).
  'arc-agi-2': {
    arch: { hidden_size: 512, num_heads: 8, expansion: 4, L_layers: 2, H_cycles: 3, L_cycles: 4, halt_max_steps: 16, puzzle_emb_len: 16, puzzle_emb_ndim: 512 },
    gridSize: 30, vocab: 12, tasks: ['synth-a', 'synth-b'], variantsPerTask: 3,
    note: 'random weights with the ARC-AGI-2 release dimensions (hidden 512, 8 heads, 2 layers, 916 tokens)',
  },
  // ≈ 0.3 GFLOP/s SwiftShader budgets: 38 tokens, hidden 16.
  tiny: {
    arch: { hidden_size: 16, num_heads: 2, expansion: 4, L_layers: 2, H_cycles: 2, L_cycles: 2, halt_max_steps: 3, puzzle_emb_len: 2, puzzle_emb_ndim: 16 },
    gridSize: 6, vocab: 12, tasks: ['tiny-a', 'tiny-b'], variantsPerTask: 2,
    note: 'random weights, tiny dimensions for fast tests on slow backends',
  },
};

/** mulberry32 + Box–Muller: reproducible across platforms, no dependency. */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Fixed augmentations for synthetic variant names (valid tids and permutations). */
function variantName(task: string, i: number): string {
  const perm = [0, ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((c) => ((c - 1 + 2 * i + 1) % 9) + 1)];
  return `${task}|||t${(i * 3 + 1) % 8}|||${perm.join('')}`;
}

export interface SynthFiles {
  checkpoint: Uint8Array[];
  configYaml: string;
  identifiers: string[];
  taskIds: string[];
}

/** Weights like the golden fixture: N(0,1)/√fan_in, blank row 0, bf16 H_init/L_init (as the ARC config stores them). */
export function synthesize(p: SynthPreset, seed = 1, prefix = '_orig_mod.model.inner.'): SynthFiles {
  const rnd = gaussian(seed);
  const identifiers = ['<blank>', ...p.tasks.flatMap((t) => [t, ...Array.from({ length: p.variantsPerTask }, (_, i) => variantName(t, i))])];
  const shapes = expectedShapes({
    hidden_size: p.arch.hidden_size, L_layers: p.arch.L_layers, intermediate_size: intermediateSize(p.arch.hidden_size, p.arch.expansion),
    vocab_size: p.vocab, num_puzzle_identifiers: identifiers.length, puzzle_emb_ndim: p.arch.puzzle_emb_ndim,
  });
  const tensors: TensorToWrite[] = [...shapes].map(([key, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const init = key === 'H_init' || key === 'L_init';
    const scale = init ? 1 : 1 / Math.sqrt(shape[shape.length - 1]);
    for (let i = 0; i < n; i++) {
      let v = rnd();
      if (init) while (Math.abs(v) > 2) v = rnd(); // truncated normal, as upstream's init buffers
      data[i] = v * scale;
    }
    if (key === 'puzzle_emb.weights') data.fill(0, 0, shape[1]);
    return { key: prefix + key, shape, data, dtype: init ? 'bfloat16' : 'float32' };
  });
  const arch: Record<string, YamlValue> = {
    name: 'recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1',
    loss: { name: 'losses@ACTLossHead', loss_type: 'stablemax_cross_entropy' },
    halt_exploration_prob: 0.1,
    ...p.arch,
    H_layers: 0,
    pos_encodings: 'rope',
    forward_dtype: 'bfloat16',
    mlp_t: false,
    no_ACT_continue: true,
  };
  return {
    checkpoint: writeCheckpoint('step_0', tensors),
    configYaml: `# trm synth: ${p.note}\n` + toYaml({ arch, data_paths: ['data/synthetic'], ema: true }),
    identifiers,
    taskIds: p.tasks,
  };
}

/** A preset synthesized and converted in memory with its gradient graphs (the fitting tests' model). */
export async function convertSynthesizedWithGrad(p: SynthPreset, seed = 1) {
  const files = synthesize(p, seed);
  const sink = memorySink();
  const ckpt = new Uint8Array(files.checkpoint.reduce((n, c) => n + c.length, 0));
  files.checkpoint.reduce((o, c) => (ckpt.set(c, o), o + c.length), 0);
  const manifest = await convertCheckpoint({
    checkpoint: bytesSource(ckpt, 'step_0'),
    config: { text: files.configYaml, name: 'all_config.yaml' },
    gridSize: p.gridSize,
    grad: true,
  }, sink);
  return { manifest, sink };
}
