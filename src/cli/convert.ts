/** `trm convert <checkpoint> --config all_config.yaml --out DIR`: upstream checkpoint → model directory. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { PRECISIONS, type Manifest, type Precision } from '../model/manifest.ts';
import { convertCheckpoint, type ConvertOptions } from '../convert/convert.ts';
import { OptionsError } from '../convert/errors.ts';
import { FULL_FIT_MAX_WEIGHTS, trainedWeightCount } from '../convert/graphs.ts';
import { fileSource } from '../convert/node-source.ts';
import { writeModelDir } from '../convert/node-sink.ts';
import { progressBar } from './progress.ts';

export const CONVERT_USAGE = `usage: trm convert <checkpoint> --config <all_config.yaml> --out <dir> [options]
  --precision LIST     block-graph precisions, comma-separated: ${PRECISIONS.join(',')} (default fp32; fp32 is always included)
  --step               also write the fused one-ACT-step graph per precision (benchmarks)
  --grad               also write fit_grad.onnx (loss and gradient for \`trm fit\`), and for models up to
                       2M trained weights fit_full.onnx (whole-network fine-tuning, \`trm fit --mode full\`)
  --grid-size N        token canvas side (dataset metadata, not in all_config.yaml; default 30)
  --identifiers FILE   upstream identifiers.json (row index → puzzle name); its sha256 is printed
  --tasks PATH         challenges.json ({id: task}) or a directory of <id>.json: export these tasks' rows
  --variants K         per task: the original plus up to K augmented variants (default all)
  --table              export the whole puzzle table (small tables only)
  --name NAME          model name in the manifest (default: the checkpoint file name)
  --force              replace an existing output directory`;

/** Task ids from a Kaggle-style challenges file or a directory of per-task JSON files. */
export async function readTaskIds(path: string): Promise<string[]> {
  const st = await stat(path).catch(() => { throw new OptionsError(`--tasks ${path}: no such file or directory`); });
  if (st.isDirectory()) {
    const ids = (await readdir(path)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
    if (!ids.length) throw new OptionsError(`--tasks ${path}: directory has no .json task files`);
    return ids;
  }
  let doc: unknown;
  try { doc = JSON.parse(await readFile(path, 'utf8')); } catch (e) { throw new OptionsError(`--tasks ${path}: not valid JSON (${(e as Error).message})`); }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new OptionsError(`--tasks ${path}: expected a challenges object {task_id: {train, test}}`);
  return Object.keys(doc);
}

export function parsePrecisions(list: string | undefined): Precision[] {
  const ps = (list ?? 'fp32').split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of ps) if (!PRECISIONS.includes(p as Precision)) throw new OptionsError(`--precision: unknown "${p}" (choose from ${PRECISIONS.join(', ')})`);
  return ps as Precision[];
}

export function positiveInt(v: string | undefined, flag: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new OptionsError(`${flag} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** Runs the converter on files, writing atomically to `out`; shared by convert and synth. */
export async function convertFiles(checkpoint: string, o: Omit<ConvertOptions, 'checkpoint'>, out: string, force: boolean): Promise<Manifest> {
  const src = await fileSource(checkpoint);
  const bar = progressBar();
  try {
    return await writeModelDir(out, force, (sink) => convertCheckpoint({ ...o, checkpoint: src, onProgress: bar.update }, sink));
  } finally {
    bar.done();
    await src.close();
  }
}

export async function runConvert(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string' }, out: { type: 'string' }, precision: { type: 'string' }, step: { type: 'boolean' }, grad: { type: 'boolean' },
      'grid-size': { type: 'string' }, identifiers: { type: 'string' }, tasks: { type: 'string' }, variants: { type: 'string' },
      table: { type: 'boolean' }, name: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(CONVERT_USAGE); return 0; }
  if (positionals.length !== 1 || !values.config || !values.out) throw new OptionsError(`expected one checkpoint, --config and --out\n${CONVERT_USAGE}`);
  if (values.tasks && !values.identifiers) throw new OptionsError('--tasks needs --identifiers (identifiers.json maps table rows to task names)');
  const [checkpoint] = positionals;
  const manifest = await convertFiles(checkpoint, {
    config: { text: await readFile(values.config, 'utf8'), name: values.config },
    gridSize: positiveInt(values['grid-size'], '--grid-size', 30),
    precisions: parsePrecisions(values.precision),
    step: values.step,
    grad: values.grad,
    identifiers: values.identifiers ? { text: await readFile(values.identifiers, 'utf8'), name: values.identifiers } : undefined,
    taskIds: values.tasks ? await readTaskIds(values.tasks) : undefined,
    variants: positiveInt(values.variants, '--variants', Infinity, 0),
    table: values.table,
    name: values.name ?? basename(checkpoint),
    onIdentifiersHash: (h) => console.log(`identifiers.json sha256 ${h}`),
  }, values.out, Boolean(values.force));
  printSummary(manifest, values.out);
  return 0;
}

export function printSummary(m: Manifest, out: string) {
  const c = m.config;
  const total = m.files.reduce((s, f) => s + f.bytes, 0);
  console.log(`wrote ${join(out, 'manifest.json')} (${m.files.length} files, ${(total / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`  model: hidden ${c.hidden_size}, ${c.num_heads} heads, ${c.L_layers} layers, H_cycles ${c.H_cycles}, L_cycles ${c.L_cycles}, ${c.puzzle_emb_len}+${c.seq_len} tokens, ${c.halt_max_steps} ACT steps, key prefix "${m.source.key_prefix}"`);
  console.log(`  block graphs: ${Object.keys(m.graphs.block).join(', ')}${m.graphs.step ? `; step graphs: ${Object.keys(m.graphs.step).join(', ')}` : ''}${m.graphs.grad ? `; gradient graph ${m.graphs.grad}` : ''}`);
  if (m.graphs.grad) {
    const n = trainedWeightCount(c), limit = `${(FULL_FIT_MAX_WEIGHTS / 1e6).toFixed(0)}M`;
    console.log(m.graphs.gradFull
      ? `  whole-network fine-tuning graph ${m.graphs.gradFull}: ${n.toLocaleString('en')} trained weights (limit ${limit})`
      : `  no whole-network fine-tuning graph: ${n.toLocaleString('en')} trained weights exceed the ${limit} limit (row fitting only)`);
  }
  const tasks = Object.keys(m.puzzles.tasks);
  console.log(`  puzzle rows: ${tasks.length ? `${tasks.length} task(s), ${Object.values(m.puzzles.tasks).reduce((s, t) => s + t.variants.length, 0)} variant rows` : 'no task rows'}${m.puzzles.table ? `; whole table (${m.puzzles.table.rows} rows)` : ''}; blank row available`);
}
