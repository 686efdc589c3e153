/**
 * onnxruntime-node measurements for one model, in a process of its own so that
 * its peak RSS belongs to that model alone. Run by bench/node.ts:
 *   node --import tsx bench/node-child.ts '<json NodeJob>'
 * Progress goes to stderr; the NodeReport JSON is the last stdout line.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { randomInputs } from '../src/cli/precision.ts';
import { readManifest } from '../src/engine/node-runtime.ts';
import { openSessions, releaseSessions } from '../src/engine/sessions.ts';
import { runCase } from './measure.ts';
import type { NodeJob, NodeReport } from './node.ts';

const job = JSON.parse(process.argv[2]) as NodeJob;
const manifest = await readManifest(job.dir);
const read = async (p: string) => new Uint8Array(await readFile(join(job.dir, p)));
// One thread: the same budget as single-threaded WASM, and faster than two on this 2-core machine (notes A5).
const sessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: job.threads, interOpNumThreads: 1 };

const results: NodeReport['results'] = [];
for (const c of job.cases) {
  const input = await randomInputs({ dir: job.dir, manifest }, c.batch);
  results.push(await runCase(ort, async (precision) => {
    const sessions = await openSessions(ort, manifest, read, { precision, sessionOptions });
    const stepPath = manifest.graphs.step?.[precision];
    const step = stepPath ? await ort.InferenceSession.create(await read(stepPath), sessionOptions) : undefined;
    return { sessions, step, release: async () => { await releaseSessions(sessions); await step?.release(); } };
  }, manifest.config, input, c, 'ort-node-cpu', job.model, (line) => process.stderr.write(`  ${line}\n`)));
}
const report: NodeReport = { results, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
process.stdout.write(`${JSON.stringify(report)}\n`);
