/**
 * Smoke run of `trm bench` on the tiny synthetic model, one repetition: real onnxruntime-node
 * in a child process, and (when Chromium is installed) real onnxruntime-web WASM in headless
 * Chromium plus the cold/warm first-frame path. Checks the report's shape, not its speed.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from '../../e2e/browser.ts';
import type { Row, ModelReport, Target } from '../../bench/report.ts';
import { runBench } from './bench.ts';

const out = mkdtempSync(join(tmpdir(), 'trm-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface BenchJson { rows: Row[]; models: ModelReport[]; skipped: unknown[]; targets: Target[]; machine: { loadavgStart: number[] } }

async function bench(dir: string, extra: string[]): Promise<BenchJson> {
  expect(await runBench(['--models', 'tiny', '--reps', '1', '--batches', '1,2', '--precisions', 'fp32,q8', '--out', dir, ...extra])).toBe(0);
  const files = readdirSync(dir);
  const json = files.find((f) => f.endsWith('.json'));
  expect(json, `no JSON written in ${dir}: ${files.join(', ')}`).toBeDefined();
  expect(files).toContain(json!.replace(/\.json$/, '.md'));
  return JSON.parse(readFileSync(join(dir, json!), 'utf8')) as BenchJson;
}

function checkRows(rows: Row[], backend: string) {
  const mine = rows.filter((r) => r.backend === backend);
  expect(mine.map((r) => `${r.precision}/b${r.batch}`).sort()).toEqual(['fp32/b1', 'fp32/b2', 'q8/b1', 'q8/b2']);
  for (const r of mine) {
    for (const s of [r.unrolled, r.fusedStep!, r.solve]) {
      expect(s.median).toBeGreaterThan(0);
      expect(s.min).toBeLessThanOrEqual(s.median);
      expect(s.max).toBeGreaterThanOrEqual(s.median);
    }
    expect(r.solve.extrapolated).toBe(false);
    expect(r.ratioToNodeFp32).toBeGreaterThan(0);
    expect(r.gflopPerS).toBeGreaterThan(0);
    expect(Number.isFinite(r.streamingOverhead)).toBe(true);
    if (r.precision === 'fp32') expect(r.agreement).toBeNull();
    else {
      expect(r.agreement!.tokens).toBeGreaterThanOrEqual(0);
      expect(r.agreement!.tokens).toBeLessThanOrEqual(1);
      expect(r.agreement!.exactGrids).toBeLessThanOrEqual(r.agreement!.tokens);
    }
  }
  return mine;
}

describe('trm bench (tiny model, 1 repetition)', () => {
  it('times onnxruntime-node and reports ratios against its own fp32 row', async () => {
    const j = await bench(join(out, 'node'), ['--no-browser']);
    const rows = checkRows(j.rows, 'ort-node-cpu');
    for (const r of rows.filter((r) => r.precision === 'fp32')) expect(r.ratioToNodeFp32).toBe(1);
    expect(j.models[0].nodePeakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(j.models[0].gflopPerActStep).toBeGreaterThan(0);
    expect(j.skipped).toEqual([]);
    expect(j.machine.loadavgStart).toHaveLength(3);
  });

  it.skipIf(!existsSync(CHROMIUM))('times onnxruntime-web WASM in Chromium and the cold and warm first frame', async () => {
    const j = await bench(join(out, 'browser'), []);
    checkRows(j.rows, 'ort-web-wasm');
    const m = j.models[0];
    expect(m.wasmHeapBytes).toBeGreaterThan(0);
    expect(m.rendererPeakRssBytes).toBeGreaterThan(0);
    expect(m.ttff!.cold.networkBytes).toBeGreaterThan(0);
    // The warm start reads every model file from IndexedDB.
    expect(m.ttff!.warm.networkBytes).toBe(0);
    expect(m.ttff!.warm.ttffMs).toBeGreaterThan(0);
    expect(j.targets.some((t) => t.name.startsWith('warm time to first frame'))).toBe(true);
  }, 300_000);
});
