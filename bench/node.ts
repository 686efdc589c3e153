/** Runs bench/node-child.ts for one model and parses its report. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Case, CaseResult } from './plan.ts';

export interface NodeJob { dir: string; model: string; cases: Case[]; threads: number }
export interface NodeReport { results: CaseResult[]; peakRssBytes: number }

const ROOT = resolve(import.meta.dirname, '..');

export function runNodeJob(job: NodeJob): Promise<NodeReport> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'bench/node-child.ts'), JSON.stringify(job)], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', fail);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return fail(new Error(`bench node child for ${job.model} exited with ${code}`));
      try { done(JSON.parse(last) as NodeReport); } catch { fail(new Error(`bench node child for ${job.model} printed no report: ${last.slice(0, 200)}`)); }
    });
  });
}
