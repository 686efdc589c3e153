/**
 * `trm bench` (npm run bench): per-ACT-step and full-solve times of each backend and precision,
 * the cost of streaming (unrolled engine vs the fused step graph), time to first frame, peak
 * memory and precision agreement, as a markdown table and bench/results/<date>-<machine>.json.
 * The pieces live in bench/ (see bench/README.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Grid, Task } from '../arc/types.ts';
import { OptionsError } from '../convert/errors.ts';
import type { Precision } from '../model/manifest.ts';
import { readManifest } from '../engine/node-runtime.ts';
import { randomInputs } from './precision.ts';
import { parsePrecisions, positiveInt } from './convert.ts';
import { freshBase } from './results.ts';
import { probeBrowser, runBrowserCases, startHarness, timeToFirstFrame } from '../../bench/browser.ts';
import { defaultModels, prepareModel } from '../../bench/models.ts';
import { runNodeJob } from '../../bench/node.ts';
import { flopsPerActStep, planCases, type Backend, type CaseResult, type Skipped } from '../../bench/plan.ts';
import { buildRows, checkTargets, markdown, type ModelReport } from '../../bench/report.ts';

export const BENCH_USAGE = `usage: trm bench [options]
  --models LIST      comma-separated: demo, golden-h64, arc-agi-2, tiny, or model directories
                     (default: ${defaultModels().join(',')})
  --precisions LIST  block precisions to time (default: all the model ships; fp32 always)
  --batches LIST     batch sizes (default 1,8)
  --reps N           samples per measurement (default 5; --quick 2)
  --budget S         estimated seconds one case may take before it is shortened or skipped (default 90; --quick 20)
  --quick            --reps 2 --budget 20 --batches 1
  --threads N        onnxruntime-node intra-op threads (default 1, like single-threaded WASM)
  --no-browser       onnxruntime-node only
  --webgpu           also time WebGPU on a fallback (software) adapter; real GPUs are always timed
  --rebuild-models   regenerate bench/.models/<name> for the known names
  --out DIR          where <date>-<machine>.json and .md go (default bench/results)`;

const ROOT = resolve(import.meta.dirname, '../..');

/** A small task every canvas fits (tiny models have a 6×6 canvas). */
function firstFrameTask(): Task {
  const g: Grid = [[1, 2, 0], [0, 3, 0], [4, 0, 5]];
  return { id: 'bench', train: [{ input: g, output: g }], test: [{ input: g }], source: 'bench' };
}

const list = (v: string | undefined, flag: string) => {
  const items = v?.split(',').map((s) => s.trim()).filter(Boolean);
  if (items && !items.length) throw new OptionsError(`${flag}: empty list`);
  return items;
};

export async function runBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      models: { type: 'string' }, precisions: { type: 'string' }, batches: { type: 'string' }, reps: { type: 'string' },
      budget: { type: 'string' }, quick: { type: 'boolean' }, threads: { type: 'string' }, 'no-browser': { type: 'boolean' },
      webgpu: { type: 'boolean' }, 'rebuild-models': { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(BENCH_USAGE); return 0; }
  const quick = Boolean(values.quick);
  const reps = positiveInt(values.reps, '--reps', quick ? 2 : 5);
  const budgetS = positiveInt(values.budget, '--budget', quick ? 20 : 90);
  const threads = positiveInt(values.threads, '--threads', 1);
  const batches = (list(values.batches, '--batches') ?? (quick ? ['1'] : ['1', '8'])).map((b) => positiveInt(b, '--batches', 1));
  const wanted = values.precisions ? parsePrecisions(values.precisions) : undefined;
  const outDir = resolve(values.out ?? join(ROOT, 'bench/results'));
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const started = new Date();
  const load0 = loadavg();

  const models = (list(values.models, '--models') ?? defaultModels()).map((m) => prepareModel(m, values['rebuild-models']));
  const results: CaseResult[] = [];
  const skipped: Skipped[] = [];
  const reports: ModelReport[] = [];
  const flops = new Map<string, number>(), seqLen = new Map<string, number>();

  const prepared = await Promise.all(models.map(async (m) => ({ m, manifest: await readManifest(m.dir) })));
  const plan = (backend: Backend, p: (typeof prepared)[number], precisions?: Precision[]) => {
    const available = Object.keys(p.manifest.graphs.block) as Precision[];
    const chosen = (precisions ?? wanted ?? available).filter((x) => available.includes(x));
    const ordered: Precision[] = ['fp32', ...chosen.filter((x) => x !== 'fp32')];
    const r = planCases({ backend, config: p.manifest.config, precisions: ordered, batches, reps, budgetS, hasStep: (x) => !!p.manifest.graphs.step?.[x] });
    skipped.push(...r.skipped.map((s) => ({ ...s, model: p.m.id })));
    return r.cases;
  };

  for (const p of prepared) {
    const c = p.manifest.config;
    flops.set(p.m.id, flopsPerActStep(c));
    seqLen.set(p.m.id, c.seq_len);
    log(`== ${p.m.id}: onnxruntime-node (${threads} thread${threads > 1 ? 's' : ''})`);
    const node = await runNodeJob({ dir: p.m.dir, model: p.m.id, cases: plan('ort-node-cpu', p), threads });
    results.push(...node.results);
    reports.push({
      id: p.m.id, origin: p.m.origin, hidden: c.hidden_size, tokens: c.puzzle_emb_len + c.seq_len, haltMaxSteps: c.halt_max_steps,
      gflopPerActStep: flopsPerActStep(c) / 1e9, nodePeakRssBytes: node.peakRssBytes,
    });
  }

  let browser: { chromium: string; adapter: unknown; webgpuTimed: boolean; crossOriginIsolated: boolean } | undefined;
  if (!values['no-browser']) {
    const harness = await startHarness();
    try {
      const probe = await probeBrowser(harness.url);
      // SwiftShader is a CPU emulation ≈ 90× slower than WASM (notes A4): timed only on request.
      const webgpu = probe.webgpu && (!probe.adapter?.isFallbackAdapter || Boolean(values.webgpu));
      browser = { chromium: '/usr/bin/chromium', adapter: probe.adapter ?? probe.webgpuReason, webgpuTimed: webgpu, crossOriginIsolated: probe.crossOriginIsolated };
      for (const p of prepared) {
        const report = reports.find((r) => r.id === p.m.id)!;
        const inputs: Record<number, { tokens: number[]; puzzle: number[] }> = {};
        for (const b of batches) {
          const i = await randomInputs({ dir: p.m.dir, manifest: p.manifest }, b);
          inputs[b] = { tokens: Array.from(i.tokens), puzzle: Array.from(i.puzzle) };
        }
        log(`== ${p.m.id}: onnxruntime-web WASM in Chromium`);
        const wasm = await runBrowserCases(harness.url, { modelId: p.m.id, backend: 'wasm', cases: plan('ort-web-wasm', p), inputs }, log);
        results.push(...wasm.results);
        report.wasmHeapBytes = wasm.wasmHeapBytes;
        report.rendererPeakRssBytes = wasm.rendererPeakRssBytes;
        if (webgpu) {
          log(`== ${p.m.id}: onnxruntime-web WebGPU in Chromium`);
          const gpuPrecisions: Precision[] = probe.shaderF16 ? ['fp32', 'fp16'] : ['fp32'];
          results.push(...(await runBrowserCases(harness.url, { modelId: p.m.id, backend: 'webgpu', cases: plan('ort-web-webgpu', p, gpuPrecisions), inputs }, log)).results);
        }
        log(`== ${p.m.id}: time to first frame (cold, then warm)`);
        report.ttff = await timeToFirstFrame(harness.url, p.m.id, webgpu ? 'webgpu' : 'wasm', firstFrameTask());
      }
    } finally {
      await harness.close();
    }
  }

  const rows = buildRows(results, flops, seqLen);
  const demoId = reports.find((r) => r.id === 'demo')?.id ?? reports[0]?.id;
  const targets = checkTargets(rows, reports, demoId);
  const load1 = loadavg();
  const machine = hostname().replace(/[^\w.-]+/g, '_');
  const date = started.toISOString().slice(0, 10);
  const header = `### TRM Studio benchmark, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine} (${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${load0[0].toFixed(1)} → ${load1[0].toFixed(1)})`;
  const md = markdown(rows, reports, skipped, targets, header);
  const json = {
    format: 'trm-studio-bench/1',
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine: { hostname: hostname(), cpu: cpus()[0]?.model, cores: cpus().length, memoryBytes: totalmem(), node: process.version, loadavgStart: load0, loadavgEnd: load1, browser },
    options: { models: models.map((m) => m.id), precisions: wanted ?? 'all', batches, reps, budgetS, threads, quick },
    models: reports,
    rows,
    skipped,
    targets,
  };
  mkdirSync(outDir, { recursive: true });
  const base = freshBase(outDir, `${date}-${machine}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 1)}\n`);
  writeFileSync(`${base}.md`, `${md}\n`);
  console.log(md);
  log(`wrote ${base}.json and ${base}.md`);
  return 0;
}
