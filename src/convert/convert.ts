/**
 * Checkpoint + all_config.yaml → model directory (manifest.json, ONNX graphs,
 * puzzle rows). Isomorphic: input is a ByteSource (Blob/File or Node file),
 * output goes to an OutputSink, hashing uses WebCrypto.
 */
import { MANIFEST_FORMAT, type Manifest, type ManifestFile, type ModelConfig, type Precision, type TaskRows, PRECISIONS } from '../model/manifest.ts';
import { checkKeys, openCheckpoint, readRows, readTensor, type Checkpoint } from './checkpoint.ts';
import { expectedShapes, readArchConfig, resolveModelConfig } from './config.ts';
import { OptionsError } from './errors.ts';
import { buildBlockGraph, buildEmbedGraph, buildFitFullGraph, buildFitGraph, buildReadoutGraph, buildStepGraph, FULL_FIT_MAX_WEIGHTS, trainedWeightCount, type TrmWeights } from './graphs.ts';
import { parseIdentifiers, selectTaskRows } from './puzzles.ts';
import type { ByteSource } from './source.ts';
import { sha256Hex } from '../model/sha256.ts';
import { f32bytes } from './onnx.ts';

export interface OutputSink {
  write(path: string, data: Uint8Array): Promise<void>;
}

export interface Progress { phase: string; done: number; total: number }

export interface ConvertOptions {
  checkpoint: ByteSource;
  config: { text: string; name: string };
  /** Side of the token canvas (dataset metadata, not in all_config.yaml); 30 for ARC. */
  gridSize?: number;
  precisions?: Precision[];
  /** Also write the fused one-ACT-step graph per precision. */
  step?: boolean;
  /**
   * Also write fit_grad.onnx (fp32): loss and d loss / d puzzle row, for fitting rows of new tasks;
   * and, for models of at most FULL_FIT_MAX_WEIGHTS trained weights, fit_full.onnx (whole-network fine-tuning).
   */
  grad?: boolean;
  /** upstream identifiers.json (index → name). */
  identifiers?: { text: string; name: string };
  taskIds?: string[];
  /** Augmented variants per task besides the original (default: all). */
  variants?: number;
  /** Export the whole puzzle table (small tables only). */
  table?: boolean;
  name?: string;
  note?: string;
  onProgress?: (p: Progress) => void;
  /** Called with the identifiers.json sha256 as soon as it is known (the CLI prints it). */
  onIdentifiersHash?: (sha256: string) => void;
}

/** Whole-table export is for small tables; real ones are GBs and must be sliced by task. */
export const MAX_TABLE_BYTES = 512 * 1024 * 1024;

async function loadWeights(ck: Checkpoint, c: ModelConfig, progress: (done: number, total: number) => void): Promise<TrmWeights> {
  const keys = [...expectedShapes(c).keys()].filter((k) => k !== 'puzzle_emb.weights');
  const t: Record<string, Float32Array> = {};
  for (const [i, k] of keys.entries()) {
    t[k] = await readTensor(ck, ck.tensors.get(k)!);
    progress(i + 1, keys.length);
  }
  return {
    H_init: t.H_init,
    L_init: t.L_init,
    embed: t['embed_tokens.embedding_weight'],
    ...(c.pos_encodings === 'learned' ? { embedPos: t['embed_pos.embedding_weight'] } : {}),
    lmHead: t['lm_head.weight'],
    qHeadW: t['q_head.weight'],
    qHeadB: t['q_head.bias'],
    layers: Array.from({ length: c.L_layers }, (_, l) => {
      const p = `L_level.layers.${l}.`;
      return { qkv: t[p + 'self_attn.qkv_proj.weight'], o: t[p + 'self_attn.o_proj.weight'], gateUp: t[p + 'mlp.gate_up_proj.weight'], down: t[p + 'mlp.down_proj.weight'] };
    }),
  };
}

/** Reads and validates checkpoint + config without writing anything. */
export async function inspectCheckpoint(src: ByteSource, config: { text: string; name: string }, gridSize = 30) {
  const arch = readArchConfig(config.text, config.name);
  const ck = await openCheckpoint(src);
  const shapes = new Map([...ck.tensors].map(([k, t]) => [k, t.shape]));
  const cfg = resolveModelConfig(arch, shapes, gridSize, src.name);
  checkKeys(ck, expectedShapes(cfg).keys());
  return { ck, cfg, arch };
}

export async function convertCheckpoint(o: ConvertOptions, sink: OutputSink): Promise<Manifest> {
  const report = (phase: string, done: number, total: number) => o.onProgress?.({ phase, done, total });
  for (const p of o.precisions ?? []) if (!PRECISIONS.includes(p)) throw new OptionsError(`unknown precision "${p}" (choose from ${PRECISIONS.join(', ')})`);
  // fp32 is the reference every other precision is judged against, so it is always written.
  const precisions: Precision[] = ['fp32', ...new Set((o.precisions ?? []).filter((p) => p !== 'fp32'))];
  if (o.taskIds?.length && !o.identifiers) throw new OptionsError('selecting tasks needs --identifiers (identifiers.json maps table rows to task names)');

  const { ck, cfg } = await inspectCheckpoint(o.checkpoint, o.config, o.gridSize ?? 30);
  const table = ck.tensors.get('puzzle_emb.weights')!;
  let identifiers: string[] | undefined;
  let identifiersSha: string | undefined;
  if (o.identifiers) {
    identifiersSha = await sha256Hex(new TextEncoder().encode(o.identifiers.text));
    o.onIdentifiersHash?.(identifiersSha);
    identifiers = parseIdentifiers(o.identifiers.text, o.identifiers.name, cfg.num_puzzle_identifiers);
  }
  const tableBytes = cfg.num_puzzle_identifiers * cfg.puzzle_emb_ndim * 4;
  if (o.table && tableBytes > MAX_TABLE_BYTES) {
    throw new OptionsError(`the puzzle table is ${(tableBytes / 2 ** 20).toFixed(0)} MiB; export only selected tasks (--identifiers with --tasks) instead of --table`);
  }
  const selection = o.taskIds?.length ? selectTaskRows(identifiers!, o.taskIds, o.variants ?? Infinity, o.identifiers!.name) : [];

  const weights = await loadWeights(ck, cfg, (d, t) => report('reading weights', d, t));
  const files: ManifestFile[] = [];
  const put = async (path: string, data: Uint8Array) => {
    await sink.write(path, data);
    files.push({ path, bytes: data.length, sha256: await sha256Hex(data) });
  };

  // Whole-network fine-tuning keeps weights, gradients and two Adam moments in memory: small models only.
  const gradFull = Boolean(o.grad) && trainedWeightCount(cfg) <= FULL_FIT_MAX_WEIGHTS;
  const graphJobs: [string, () => Uint8Array][] = [
    ['embed.onnx', () => buildEmbedGraph(cfg, weights)],
    ['readout.onnx', () => buildReadoutGraph(cfg, weights)],
    ...precisions.map((p): [string, () => Uint8Array] => [`block_${p}.onnx`, () => buildBlockGraph(cfg, weights, p)]),
    ...(o.step ? precisions.map((p): [string, () => Uint8Array] => [`step_${p}.onnx`, () => buildStepGraph(cfg, weights, p)]) : []),
    ...(o.grad ? [['fit_grad.onnx', () => buildFitGraph(cfg, weights)] as [string, () => Uint8Array]] : []),
    ...(gradFull ? [['fit_full.onnx', () => buildFitFullGraph(cfg, weights)] as [string, () => Uint8Array]] : []),
  ];
  for (const [i, [path, build]] of graphJobs.entries()) {
    report('building graphs', i, graphJobs.length);
    await put(path, build());
  }
  report('building graphs', graphJobs.length, graphJobs.length);

  const tasks: Record<string, TaskRows> = {};
  for (const [i, s] of selection.entries()) {
    if (!/^[\w.-]+$/.test(s.task)) throw new OptionsError(`task id "${s.task}" cannot be used as a file name`);
    const path = `puzzles/${s.task}.bin`;
    await put(path, f32bytes(await readRows(ck, table, s.rows)));
    tasks[s.task] = { path, variants: s.variants };
    report('puzzle rows', i + 1, selection.length);
  }
  let tableEntry: Manifest['puzzles']['table'];
  if (o.table) {
    const all = await readRows(ck, table, Array.from({ length: cfg.num_puzzle_identifiers }, (_, r) => r));
    await put('puzzles/table.bin', f32bytes(all));
    tableEntry = { path: 'puzzles/table.bin', rows: cfg.num_puzzle_identifiers, ...(identifiers ? { identifiers } : {}) };
  }

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    name: o.name ?? o.checkpoint.name,
    created: new Date().toISOString(),
    source: { checkpoint: o.checkpoint.name, config: o.config.name, key_prefix: ck.prefix, ...(o.note ? { note: o.note } : {}) },
    config: cfg,
    graphs: {
      embed: 'embed.onnx',
      readout: 'readout.onnx',
      block: Object.fromEntries(precisions.map((p) => [p, `block_${p}.onnx`])),
      ...(o.step ? { step: Object.fromEntries(precisions.map((p) => [p, `step_${p}.onnx`])) } : {}),
      ...(o.grad ? { grad: 'fit_grad.onnx' } : {}),
      ...(gradFull ? { gradFull: 'fit_full.onnx' } : {}),
    },
    files,
    puzzles: { blank: true, ...(tableEntry ? { table: tableEntry } : {}), tasks, ...(identifiersSha ? { identifiers_sha256: identifiersSha } : {}) },
  };
  await sink.write('manifest.json', new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
  return manifest;
}

/** Collects the model directory in memory (browser use, tests). */
export function memorySink(): OutputSink & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return { files, async write(path, data) { files.set(path, data); } };
}
