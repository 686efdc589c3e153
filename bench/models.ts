/**
 * The benchmark's model directories, all under bench/.models/ (git-ignored) so one server can
 * serve them. Known names are (re)built with the ordinary `trm` commands and `--step`, because
 * the fused one-ACT-step graph is what the streaming overhead is measured against:
 *   arc-agi-2, tiny  `trm synth --preset …` (random weights)
 *   golden-h64       `trm convert` of the golden upstream fixture
 *   demo             `trm convert` of the demo training run when it exists, else models/demo as is
 * Anything else is a path to a model directory, linked in unchanged (fused rows only if it has graphs.step).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { OptionsError } from '../src/convert/errors.ts';

const ROOT = resolve(import.meta.dirname, '..');
export const BENCH_MODELS = resolve(ROOT, 'bench/.models');
const ALL_PRECISIONS = 'fp32,q8,fp16,q4';
const DEMO_RUN = resolve(ROOT, 'models/training/runs/demo/final');
const GOLDEN = resolve(ROOT, 'src/convert/fixtures/trm-upstream-h64');

export interface BenchModel {
  /** Served as /models/<id>/. */
  id: string;
  dir: string;
  /** How the directory was made (for the report). */
  origin: string;
}

const trm = (args: string[]) => execFileSync(process.execPath, [resolve(ROOT, 'bin/trm.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });

function demoCheckpoint(): string | undefined {
  if (!existsSync(DEMO_RUN)) return undefined;
  const steps = readdirSync(DEMO_RUN).filter((n) => /^step_\d+$/.test(n)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  return steps.length ? join(DEMO_RUN, steps[steps.length - 1]) : undefined;
}

/** The default list: the demo model when present (else the golden fixture), and the ARC-AGI-2-size model. */
export function defaultModels(): string[] {
  return [existsSync(resolve(ROOT, 'models/demo/manifest.json')) || demoCheckpoint() ? 'demo' : 'golden-h64', 'arc-agi-2'];
}

export function prepareModel(name: string, rebuild = false): BenchModel {
  mkdirSync(BENCH_MODELS, { recursive: true });
  const known = ['arc-agi-2', 'tiny', 'golden-h64', 'demo'].includes(name);
  const id = known ? name : basename(resolve(name));
  const dir = join(BENCH_MODELS, id);
  const ready = existsSync(join(dir, 'manifest.json')) && !rebuild;
  switch (name) {
    case 'arc-agi-2':
    case 'tiny':
      if (!ready) trm(['synth', '--preset', name, '--precision', ALL_PRECISIONS, '--step', '--out', dir, '--force']);
      return { id, dir, origin: `trm synth --preset ${name} --step` };
    case 'golden-h64':
      if (!ready) trm(['convert', join(GOLDEN, 'step_0'), '--config', join(GOLDEN, 'all_config.yaml'), '--precision', ALL_PRECISIONS, '--step', '--table', '--name', 'golden-h64', '--out', dir, '--force']);
      return { id, dir, origin: 'trm convert of the golden fixture, --step' };
    case 'demo': {
      const ckpt = demoCheckpoint();
      if (ckpt) {
        if (!ready) {
          trm(['convert', ckpt, '--config', join(DEMO_RUN, 'all_config.yaml'), '--identifiers', join(DEMO_RUN, 'identifiers.json'), '--grid-size', '10',
            '--tasks', resolve(ROOT, 'src/arc/demo/demo-tasks.json'), '--precision', ALL_PRECISIONS, '--step', '--name', 'trm-studio-demo', '--out', dir, '--force']);
        }
        return { id, dir, origin: `trm convert of ${ckpt.slice(ROOT.length + 1)}, --step` };
      }
      return link(id, resolve(ROOT, 'models/demo'));
    }
    default:
      return link(id, resolve(name));
  }
}

function link(id: string, target: string): BenchModel {
  if (!existsSync(join(target, 'manifest.json'))) throw new OptionsError(`--models: ${target} is not a model directory (no manifest.json)`);
  const dir = join(BENCH_MODELS, id);
  if (!existsSync(dir)) symlinkSync(target, dir);
  return { id, dir, origin: `${target.slice(ROOT.length + 1) || target} as is` };
}
