/**
 * Node output: everything goes to a temp directory beside the target, which
 * is renamed into place only after the manifest is written, so a failed
 * conversion never leaves a partial model directory.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { OptionsError } from './errors.ts';
import type { OutputSink } from './convert.ts';

export async function writeModelDir<T>(outDir: string, force: boolean, run: (sink: OutputSink) => Promise<T>): Promise<T> {
  const target = resolve(outDir);
  const exists = await stat(target).then(() => true, () => false);
  if (exists && !force) throw new OptionsError(`${outDir} already exists (use --force to replace it)`);
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    const result = await run({
      async write(path, data) {
        const p = join(tmp, path);
        await mkdir(dirname(p), { recursive: true });
        await writeFile(p, data);
      },
    });
    if (exists) await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
    return result;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
