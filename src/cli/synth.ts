/**
 * `trm synth --preset arc-agi-2|tiny --out DIR`: a random-weight model.
 * Writes an upstream-format checkpoint, all_config.yaml and identifiers.json
 * to DIR-source/ and converts them with the ordinary converter, so synth
 * exercises the checkpoint writer and reader end to end.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OptionsError } from '../convert/errors.ts';
import { PRESETS, synthesize } from '../convert/synth.ts';
import { convertFiles, parsePrecisions, positiveInt, printSummary } from './convert.ts';

export const SYNTH_USAGE = `usage: trm synth --preset ${Object.keys(PRESETS).join('|')} --out <dir> [--precision LIST] [--step] [--grad] [--seed N] [--force]
  writes the model to <dir> and its upstream-format sources (step_0, all_config.yaml, identifiers.json) to <dir>-source/`;

export async function runSynth(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      preset: { type: 'string' }, out: { type: 'string' }, precision: { type: 'string' }, step: { type: 'boolean' }, grad: { type: 'boolean' },
      seed: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(SYNTH_USAGE); return 0; }
  const preset = PRESETS[values.preset ?? ''];
  if (!preset || !values.out) throw new OptionsError(`expected --preset (${Object.keys(PRESETS).join(', ')}) and --out\n${SYNTH_USAGE}`);
  const precisions = parsePrecisions(values.precision);
  const srcDir = `${resolve(values.out)}-source`;
  if (!values.force && await stat(srcDir).then(() => true, () => false)) throw new OptionsError(`${srcDir} already exists (use --force to replace it)`);
  const files = synthesize(preset, positiveInt(values.seed, '--seed', 1));
  await mkdir(srcDir, { recursive: true });
  try {
    const ckpt = join(srcDir, 'step_0');
    await writeFile(ckpt, files.checkpoint);
    await writeFile(join(srcDir, 'all_config.yaml'), files.configYaml);
    const identifiers = JSON.stringify(files.identifiers);
    await writeFile(join(srcDir, 'identifiers.json'), identifiers);
    const manifest = await convertFiles(ckpt, {
      config: { text: files.configYaml, name: 'all_config.yaml' },
      gridSize: preset.gridSize,
      precisions,
      step: values.step,
      grad: values.grad,
      identifiers: { text: identifiers, name: 'identifiers.json' },
      taskIds: files.taskIds,
      table: true,
      name: `synth-${values.preset}`,
      note: preset.note,
    }, values.out, Boolean(values.force));
    printSummary(manifest, values.out);
    return 0;
  } catch (e) {
    await rm(srcDir, { recursive: true, force: true });
    throw e;
  }
}
