/** The `trm` command: one entry, subcommands loaded on demand. */
import { ConvertError } from '../convert/errors.ts';

type Command = { summary: string; run: () => Promise<(args: string[]) => Promise<number>> };

const COMMANDS: Record<string, Command> = {
  convert: { summary: 'upstream TRM checkpoint → browser model directory', run: async () => (await import('./convert.ts')).runConvert },
  synth: { summary: 'random-weight model (presets arc-agi-2, tiny) via the converter', run: async () => (await import('./synth.ts')).runSynth },
  precision: { summary: 'fp16/q8/q4 vs fp32 token agreement and file sizes', run: async () => (await import('./precision.ts')).runPrecision },
  gen: { summary: 'write the demo tasks and the demo training set', run: async () => (await import('./gen.ts')).runGen },
  fit: { summary: 'fit puzzle rows for new tasks (network frozen) into a model overlay', run: async () => (await import('./fit.ts')).runFit },
  eval: { summary: 'pass@K of a model on tasks with the app engine, headless; Kaggle submission.json', run: async () => (await import('./eval.ts')).runEval },
  'fit-bench': { summary: 'held-out tasks: pass@2 blank row vs fitted row (npm run bench:fit)', run: async () => (await import('./fit-bench.ts')).runFitBench },
  bench: { summary: 'benchmarks: backends × precisions, streaming cost, first frame, memory', run: async () => (await import('./bench.ts')).runBench },
};

function usage() {
  return `usage: trm <command> [options]   (trm <command> --help for details)\n${Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(10)} ${c.summary}`).join('\n')}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h') { console.log(usage()); return name ? 0 : 1; }
  const cmd = COMMANDS[name];
  if (!cmd) { console.error(`trm: unknown command "${name}"\n${usage()}`); return 1; }
  try {
    return await (await cmd.run())(args);
  } catch (e) {
    // Known bad input (our error classes, bad flags, unreadable files): one clear line.
    // Anything else is a bug: keep the stack.
    const code = (e as { code?: string }).code ?? '';
    if (e instanceof ConvertError || code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`trm ${name}: ${(e as Error).name === 'TypeError' ? '' : `${(e as Error).name}: `}${(e as Error).message}`);
      return 2;
    }
    if (['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR'].includes(code)) {
      console.error(`trm ${name}: cannot read ${(e as { path?: string }).path}: ${code === 'ENOENT' ? 'no such file or directory' : code}`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
