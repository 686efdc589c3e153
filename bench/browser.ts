/**
 * The Chromium part of the benchmark: builds the harness page, serves it with bench models,
 * and drives window.bench (bench/harness.ts) through playwright-core with the e2e launch recipe.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';
import { freshProfileDir, launchBrowser, type Launched } from '../e2e/browser.ts';
import type { Task } from '../src/arc/types.ts';
import type { Probe } from '../src/engine/protocol.ts';
import type { FirstFrame, RunCasesRequest } from './harness.ts';
import type { CaseResult } from './plan.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CONFIG = resolve(ROOT, 'bench/vite.config.ts');

export interface BrowserBench {
  url: string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<BrowserBench> {
  await build({ configFile: CONFIG, logLevel: 'error' });
  const server: PreviewServer = await preview({ configFile: CONFIG });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview of the bench harness reported no URL');
  return { url: `${url.replace(/\/$/, '')}/bench/harness.html`, close: () => server.close() };
}

/** Peak RSS (VmHWM) of this browser's renderer processes, found by their profile directory. */
function rendererPeakRss(profileDir: string): number {
  let peak = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer') || !cmd.includes(profileDir)) continue;
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
    } catch { /* the process ended meanwhile */ }
  }
  return peak;
}

async function openHarness(url: string, o: { webgpu: boolean; profileDir?: string; log?: (l: string) => void }): Promise<Launched> {
  const b = await launchBrowser({ webgpu: o.webgpu, profileDir: o.profileDir });
  if (o.log) b.page.on('console', (m) => { if (m.type() === 'log') o.log!(m.text()); });
  await b.page.goto(url);
  await b.page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return b;
}

export async function probeBrowser(url: string): Promise<Probe> {
  const b = await openHarness(url, { webgpu: true });
  try { return await b.page.evaluate(() => window.bench.probe()); } finally { await b.close(); }
}

export interface BrowserRun { results: CaseResult[]; wasmHeapBytes: number; rendererPeakRssBytes: number }

/** Runs cases in a browser of their own, so the memory peaks belong to this model alone. */
export async function runBrowserCases(url: string, req: RunCasesRequest, log: (l: string) => void): Promise<BrowserRun> {
  const b = await openHarness(url, { webgpu: req.backend === 'webgpu', log });
  try {
    // No page timeout: the ARC-AGI-2-size model takes minutes on WASM.
    const r = await b.page.evaluate((q) => window.bench.runCases(q), req);
    if (b.errors.length) log(`browser errors: ${b.errors.join(' | ')}`);
    return { ...r, rendererPeakRssBytes: rendererPeakRss(b.profileDir) };
  } finally {
    await b.close();
  }
}

export interface TimeToFirstFrame { cold: FirstFrame; warm: FirstFrame }

/** Cold: a fresh profile (empty HTTP cache and IndexedDB). Warm: the same profile relaunched. */
export async function timeToFirstFrame(url: string, modelId: string, backend: 'wasm' | 'webgpu', task: Task): Promise<TimeToFirstFrame> {
  const profileDir = freshProfileDir();
  try {
    const once = async () => {
      const b = await openHarness(url, { webgpu: backend === 'webgpu', profileDir });
      try { return await b.page.evaluate(([id, be, t]) => window.bench.firstFrame(id, be, t), [modelId, backend, task] as const); } finally { await b.close(); }
    };
    const cold = await once();
    const warm = await once();
    return { cold, warm };
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
}
