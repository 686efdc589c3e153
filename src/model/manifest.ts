/**
 * The model directory contract between the converter (writes it) and the
 * engine (reads it). Every dimension the runtime needs comes from here:
 * nothing assumes 30×30 or hidden size 512.
 *
 * Graph I/O contract (names are part of the format):
 *  - embed:   tokens int32 [B, seq_len], puzzle float32 [B, puzzle_emb_ndim]
 *             → x, z_H, z_L, zeros  (all float32 [B, S, D], S = puzzle_emb_len + seq_len)
 *             z_H/z_L are H_init/L_init broadcast; zeros is the all-zero injection.
 *  - block:   state, inj_a, inj_b  float32 [B, S, D] → out [B, S, D]
 *             out = L_level(state + (inj_a + inj_b)), i.e. upstream's
 *             z_L ← f(z_L, z_H + x)   as block(z_L, z_H, x)
 *             z_H ← f(z_H, z_L)       as block(z_H, z_L, zeros)
 *  - readout: z_H [B, S, D] → logits float32 [B, seq_len, vocab], grid uint8 [B, seq_len]
 *             (argmax token), confidence float32 [B, seq_len] (softmax max),
 *             q_halt float32 [B], q_continue float32 [B]
 *  - step (optional, benchmarks): one fused ACT step
 *             tokens, puzzle, z_H, z_L → z_H_out, z_L_out, grid, q_halt, q_continue
 *  - grad (optional, fp32, fitting rows of new tasks): the last H-cycle of one ACT step
 *             tokens, puzzle, z_H, z_L, labels int32 [B, seq_len] (token ids, 0 = PAD ignored)
 *             → loss float32 [] (summed over the batch), d_puzzle [B, puzzle_emb_ndim],
 *             loss_per_seq [B], correct [B] (1 = argmax sequence exactly right),
 *             z_H_out, z_L_out, logits, q_halt
 *  - gradFull (optional, fp32, whole-network fine-tuning): one whole ACT step, the carry
 *             entering its last H-cycle detached; the trained weights are inputs
 *             (graph layout, names as the forward graphs' initializers: embed_tokens,
 *             lm_head, q_head, q_head_bias, L<i>_qkv|o|gate_up|down)
 *             tokens, puzzle, z_H, z_L (carry at the start of the step), labels, weights
 *             → everything grad returns + d_<weight> for each weight input
 */
export const MANIFEST_FORMAT = 'trm-studio-model/1' as const;

export type Precision = 'fp32' | 'fp16' | 'q8' | 'q4';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16', 'q8', 'q4'];

export interface ModelConfig {
  hidden_size: number;
  num_heads: number;
  expansion: number;
  /** SwiGLU inner width, as upstream computes it from expansion. */
  intermediate_size: number;
  L_layers: number;
  H_cycles: number;
  L_cycles: number;
  halt_max_steps: number;
  puzzle_emb_len: number;
  puzzle_emb_ndim: number;
  vocab_size: number;
  /** Side of the square token canvas (30 upstream). */
  grid_size: number;
  /** grid_size², the token count without the puzzle prefix. */
  seq_len: number;
  rope_theta: number;
  /**
   * Upstream's two position schemes: rotary (its ARC setting; absent in older
   * manifests) or a learned [P + seq_len, D] table added to the input.
   */
  pos_encodings?: 'rope' | 'learned';
  rms_norm_eps: number;
  num_puzzle_identifiers: number;
}

export interface ManifestFile {
  /** Relative to the model directory, forward slashes. */
  path: string;
  bytes: number;
  sha256: string;
}

/** One augmented variant of a task: how the puzzle row's inputs were transformed. */
export interface Variant {
  /** Upstream identifier name, e.g. `8b28cd80|||t3|||0768314952`, or the bare id. */
  name: string;
  /** Dihedral transform id 0..7 (0 = identity). */
  tid: number;
  /** Colour mapping: augmented colour = perm[original colour]. Identity for the original. */
  perm: number[];
  /** Row index inside the task's rows file. */
  row: number;
}

export interface TaskRows {
  /** float32 little-endian [variants.length, puzzle_emb_ndim]. */
  path: string;
  variants: Variant[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  created: string;
  source: { checkpoint?: string; config?: string; key_prefix?: string; note?: string };
  config: ModelConfig;
  graphs: {
    embed: string;
    readout: string;
    block: Partial<Record<Precision, string>>;
    step?: Partial<Record<Precision, string>>;
    /** fit_grad.onnx, written with `trm convert --grad`. */
    grad?: string;
    /** fit_full.onnx (whole-network fine-tuning), written with `--grad` for models up to 2M trained weights. */
    gradFull?: string;
  };
  /** Every file of the directory except manifest.json. */
  files: ManifestFile[];
  puzzles: {
    /** The blank (all-zero) row is always usable. */
    blank: true;
    /** The whole table, float32 [rows, puzzle_emb_ndim], addressed by identifier index. */
    table?: { path: string; rows: number; identifiers?: string[] };
    /** Per-task rows, selected by task id. */
    tasks: Record<string, TaskRows>;
    /** sha256 of the identifiers.json used, when one was given. */
    identifiers_sha256?: string;
  };
}
