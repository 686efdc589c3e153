/**
 * The inference engine in real Chromium, through the real worker (onnxruntime-web), against the
 * built app's model directories (served from dist/models by vite preview):
 *  - WASM on the golden model: byte progress, streamed frames, pause / single-step / cancel,
 *    the IndexedDB cache (a second page load requests no model file; a corrupted entry is replaced);
 *  - WebGPU (SwiftShader) vs WASM on the tiny fp32 model: identical grids at every frame;
 *  - a forced WebGPU failure (session creation, device loss) falls back to WASM with a notice;
 *  - the device lost in the middle of a fit (tiny model): the fit continues on WASM.
 * Timings are printed for the closing notes.
 */
import { rmSync } from 'node:fs';
import type { Page, Request } from 'playwright-core';
import { afterAll, describe, expect, inject, test } from 'vitest';
import type { Task } from '../src/arc/types.ts';
import type { FitProgressEvent, FrameBatch, LoadProgress, ModelInfo, Notice, SolveResult } from '../src/engine/protocol.ts';
import { demoTasks } from '../src/arc/demo/index.ts';
import { freshProfileDir, launchBrowser, type Launched } from './browser.ts';

const GOLDEN = '/models/golden-h64/manifest.json';
const TINY = '/models/tiny/manifest.json';
const DEMO = '/models/demo/manifest.json';

const task: Task = {
  id: 'e2e-task',
  train: [{ input: [[1, 0], [0, 2]], output: [[2, 0], [0, 1]] }],
  test: [{ input: [[1, 2, 3], [4, 5, 6], [7, 8, 0], [3, 3, 1]] }],
};

async function openHarness(b: Launched): Promise<Page> {
  await b.page.goto(`${inject('baseURL')}/engine-harness.html`);
  await b.page.waitForSelector('body[data-ready=true]', { state: 'attached' });
  return b.page;
}

const modelRequests = (b: Launched) => {
  const seen: string[] = [];
  b.context.on('request', (r: Request) => { if (new URL(r.url()).pathname.startsWith('/models/')) seen.push(new URL(r.url()).pathname); });
  return seen;
};

interface ColdRun {
  info: ModelInfo;
  progress: LoadProgress[];
  notices: Notice[];
  result: SolveResult;
  frames: number;
  framesWhilePaused: number;
  firstFrameMs: number;
}

/** Load + one streamed solve in the page; frames are counted as they arrive. */
function loadAndSolve(page: Page, url: string, steps: number) {
  return page.evaluate(async ({ url, task, steps }) => {
    const engine = new window.trm.TrmEngine();
    const notices: Notice[] = [];
    engine.on('notice', (n) => notices.push(n));
    const progress: LoadProgress[] = [];
    const info = await engine.load(url, { backend: 'wasm', onProgress: (p) => progress.push(p) });
    let frames = 0, firstFrameMs = -1, framesWhilePaused = -1;
    const t0 = performance.now();
    // Start paused and single-step once: exactly one H-cycle's frame must arrive while the solve is still pending.
    let firstFrame!: () => void;
    const gotFirst = new Promise<void>((r) => { firstFrame = r; });
    const solving = engine.solve({ task, testIndex: 0, steps, maxVariants: 2, startPaused: true }, {
      onFrameBatch: () => { if (frames++ === 0) { firstFrameMs = performance.now() - t0; firstFrame(); } },
    });
    await engine.step();
    await gotFirst;
    await new Promise((r) => setTimeout(r, 300));
    framesWhilePaused = frames;
    await engine.resume();
    const result = await solving;
    await engine.dispose();
    return { info, progress, notices, result, frames, framesWhilePaused, firstFrameMs } satisfies ColdRun;
  }, { url, task, steps });
}

describe('engine in Chromium', () => {
  const profileDir = freshProfileDir();
  afterAll(() => rmSync(profileDir, { recursive: true, force: true }));

  test('WASM: streamed, steppable solve; the second page load is served from IndexedDB; corruption is repaired', async () => {
    let cold: ColdRun, warm: ColdRun;
    let b = await launchBrowser({ profileDir });
    try {
      const requests = modelRequests(b);
      cold = await loadAndSolve(await openHarness(b), GOLDEN, 2);
      expect(cold.info.backend).toMatchObject({ backend: 'wasm', precision: 'q8', forced: true });
      expect(cold.info.cache.store).toBe('indexeddb');
      expect(requests).toEqual(['/models/golden-h64/manifest.json', '/models/golden-h64/embed.onnx', '/models/golden-h64/block_q8.onnx', '/models/golden-h64/readout.onnx']);
      const last = cold.progress.at(-1)!;
      expect(last.loaded).toBe(last.total);
      expect(cold.progress.some((p) => p.fileLoaded < p.fileTotal)).toBe(true); // real byte progress, not one event per file
      // Paused after one single step: one frame only, and it came while the solve was still pending.
      expect(cold.framesWhilePaused).toBe(1);
      expect(cold.frames).toBe(2 * cold.info.config.H_cycles);
      expect(cold.result.steps).toBe(2);
      expect(cold.result.variants).toHaveLength(2);
      expect(cold.result.attempts.attempt_1).toBeDefined();
    } finally {
      await b.close();
    }

    b = await launchBrowser({ profileDir });
    try {
      const requests = modelRequests(b);
      warm = await loadAndSolve(await openHarness(b), GOLDEN, 2);
      expect(requests).toEqual([]);
      expect(warm.info.networkBytes).toBe(0);
      expect(warm.progress.every((p) => p.fromCache)).toBe(true);
      // Same model, same input: the cached files give the same predictions.
      expect(warm.result.predictions).toEqual(cold.result.predictions);

      // Corrupt the cached q8 block graph in IndexedDB, then load again in a fresh page.
      const manifest = await (await fetch(`${inject('baseURL')}${GOLDEN}`)).json() as { files: { path: string; sha256: string; bytes: number }[] };
      const sha = manifest.files.find((f) => f.path === 'block_q8.onnx')!.sha256;
      await b.page.evaluate(async (key) => {
        const db = await new Promise<IDBDatabase>((ok, fail) => {
          const r = indexedDB.open(window.trm.CACHE_DB);
          r.onsuccess = () => ok(r.result);
          r.onerror = () => fail(r.error);
        });
        const tx = db.transaction(window.trm.CACHE_STORE, 'readwrite');
        const store = tx.objectStore(window.trm.CACHE_STORE);
        const bytes = new Uint8Array(await new Promise<ArrayBuffer>((ok) => { const g = store.get(key); g.onsuccess = () => ok(g.result); }));
        bytes[100] ^= 0xff;
        store.put(bytes.buffer, key);
        await new Promise((ok) => { tx.oncomplete = ok; });
        db.close();
      }, `sha256:${sha}`);
      const repaired = await loadAndSolve(await openHarness(b), GOLDEN, 1);
      expect(repaired.notices).toContainEqual({ kind: 'cache-repaired', file: 'block_q8.onnx' });
      expect(requests).toEqual(['/models/golden-h64/block_q8.onnx']);

      // "Clear cached models" frees what was stored: the manifest and the three graphs.
      const cleared = await b.page.evaluate(async () => {
        const engine = new window.trm.TrmEngine();
        const before = await engine.cacheStatus();
        const freed = await engine.clearCache();
        const after = await engine.cacheStatus();
        await engine.dispose();
        return { before, freed, after };
      });
      const graphBytes = manifest.files.filter((f) => /^(embed|readout|block_q8)\.onnx$/.test(f.path)).reduce((n, f) => n + f.bytes, 0);
      expect(cleared.before.store).toBe('indexeddb');
      expect(cleared.freed).toEqual({ files: cleared.before.files, bytes: cleared.before.bytes });
      expect(cleared.freed.files).toBe(4);
      expect(cleared.freed.bytes).toBeGreaterThan(graphBytes);
      expect(cleared.after).toMatchObject({ files: 0, bytes: 0 });
    } finally {
      await b.close();
    }
    console.log(`golden-h64 WASM q8, batch 2 (Chromium): time to first frame cold ${cold.firstFrameMs.toFixed(0)} ms (load ${cold.info.loadMs.toFixed(0)} ms), `
      + `warm ${warm.firstFrameMs.toFixed(0)} ms (load ${warm.info.loadMs.toFixed(0)} ms); per H-cycle ${warm.result.timings.perHCycleMs.toFixed(0)} ms, per ACT step ${warm.result.timings.perActMs.toFixed(0)} ms`);
  });

  test('WASM: pause holds within one block call, cancel rejects with CancelledError, the engine stays usable', async () => {
    const b = await launchBrowser();
    try {
      const page = await openHarness(b);
      const out = await page.evaluate(async ({ url, task }) => {
        const engine = new window.trm.TrmEngine();
        await engine.load(url, { backend: 'wasm', precision: 'fp32' });
        let frames = 0;
        let firstFrame!: () => void;
        const gotFirst = new Promise<void>((r) => { firstFrame = r; });
        const running = engine.solve({ task, testIndex: 0, maxVariants: 1 }, { onFrameBatch: () => { if (frames++ === 0) firstFrame(); } });
        const outcome = running.then(() => 'resolved', (e: Error) => e.name);
        await gotFirst;
        const state = await engine.pause();
        const atPause = frames;
        await new Promise((r) => setTimeout(r, 1500));
        const afterWait = frames;
        await engine.cancel();
        const cancelled = await outcome;
        const again = await engine.solve({ task, testIndex: 0, steps: 1, maxVariants: 1 });
        await engine.dispose();
        return { state, atPause, afterWait, cancelled, againSteps: again.steps };
      }, { url: GOLDEN, task });
      expect(out.state).toBe('paused');
      // At most the H-cycle in flight when pause arrived may still finish.
      expect(out.afterWait - out.atPause).toBeLessThanOrEqual(1);
      expect(out.cancelled).toBe('CancelledError');
      expect(out.againSteps).toBe(1);
    } finally {
      await b.close();
    }
  });

  test('tiny fp32 model: WebGPU and WASM give identical grids at every frame', async () => {
    const b = await launchBrowser({ webgpu: true });
    try {
      const page = await openHarness(b);
      const out = await page.evaluate(async ({ url, task }) => {
        const run = async (backend: 'webgpu' | 'wasm') => {
          const engine = new window.trm.TrmEngine();
          const info = await engine.load(url, { backend, precision: 'fp32' });
          const frames: FrameBatch[] = [];
          // 'tiny-a' has trained rows in the tiny model: three variants from its own rows file, one batch.
          const result = await engine.solve({ task: { ...task, id: 'tiny-a' }, testIndex: 0, steps: 2, maxVariants: 3 }, { onFrameBatch: (f) => frames.push(f) });
          await engine.dispose();
          return { info, result, frames: frames.map((f) => ({ act: f.act, h: f.h, tokens: Array.from(f.tokens), grids: f.grids, qHalt: Array.from(f.qHalt) })) };
        };
        const probe = await new window.trm.TrmEngine().probe();
        return { probe, gpu: await run('webgpu'), cpu: await run('wasm') };
      }, { url: TINY, task });
      expect(out.probe.webgpu).toBe(true);
      expect(out.gpu.info.backend.backend).toBe('webgpu');
      expect(out.cpu.info.backend.backend).toBe('wasm');
      expect(out.gpu.frames.length).toBe(2 * out.gpu.info.config.H_cycles);
      expect(out.gpu.result.variants.map((v) => v.source)).toEqual(['task', 'task', 'task']);
      expect(new Set(out.gpu.frames.flatMap((f) => f.tokens)).size).toBeGreaterThan(2); // not a degenerate all-same canvas
      expect(out.gpu.frames.map((f) => [f.act, f.h, f.tokens, f.grids])).toEqual(out.cpu.frames.map((f) => [f.act, f.h, f.tokens, f.grids]));
      out.gpu.frames.forEach((f, i) => f.qHalt.forEach((q, v) => expect(Math.abs(q - out.cpu.frames[i].qHalt[v])).toBeLessThan(1e-3)));
      console.log(`tiny fp32, batch 3: WebGPU (SwiftShader) per H-cycle ${out.gpu.result.timings.perHCycleMs.toFixed(0)} ms, WASM ${out.cpu.result.timings.perHCycleMs.toFixed(0)} ms`);
    } finally {
      await b.close();
    }
  });

  test('a forced WebGPU failure falls back to WASM with a visible notice', async () => {
    const b = await launchBrowser({ webgpu: true });
    try {
      const page = await openHarness(b);
      const out = await page.evaluate(async ({ url, task }) => {
        const attempt = async (failWebGpu: 'session' | 'device-lost') => {
          const engine = new window.trm.TrmEngine();
          const notices: Notice[] = [];
          engine.on('notice', (n) => notices.push(n));
          const info = await engine.load(url, { backend: 'webgpu', precision: 'fp32', debug: { failWebGpu } });
          const result = await engine.solve({ task, testIndex: 0, steps: 1, maxVariants: 1 });
          await engine.dispose();
          return { loadedOn: info.backend.backend, solvedOn: result.backend.backend, notices, steps: result.steps };
        };
        return { session: await attempt('session'), lost: await attempt('device-lost') };
      }, { url: TINY, task });
      expect(out.session.loadedOn).toBe('wasm');
      expect(out.session.notices).toContainEqual(expect.objectContaining({ kind: 'backend-fallback', from: 'webgpu', to: 'wasm' }));
      expect(out.lost.loadedOn).toBe('webgpu');
      expect(out.lost.solvedOn).toBe('wasm');
      expect(out.lost.notices).toContainEqual(expect.objectContaining({ kind: 'backend-fallback', reason: expect.stringContaining('device lost') }));
      expect(out.lost.steps).toBe(1);
    } finally {
      await b.close();
    }
  });

  // Two demonstrations, both within the tiny model's 6×6 canvas. On SwiftShader (2 busy cores) a WebGPU load takes
  // about 25 s and opening the fitting graphs there about 30 s more (measured), so each case below is its own test.
  const fitTask: Task = { ...task, id: 'e2e-fit-lost', train: [...task.train, { input: [[3, 0, 0], [0, 0, 4]], output: [[4, 0, 0], [0, 0, 3]] }] };

  /** Loads the tiny model on WebGPU with the device destroyed after the first fitting step, and fits. */
  const fitLosingDevice = (page: Page, steps: number, cancelOnRestart: boolean) => page.evaluate(async ({ url, task, steps, cancelOnRestart }) => {
    const engine = new window.trm.TrmEngine();
    const notices: Notice[] = [];
    const t0 = performance.now();
    const info = await engine.load(url, { backend: 'webgpu', precision: 'fp32', debug: { failWebGpu: 'device-lost-mid-fit' } });
    engine.on('notice', (n) => { notices.push(n); if (cancelOnRestart && n.kind === 'fit-restarted') void engine.cancel(); });
    const progress: FitProgressEvent[] = [];
    const fitted = await engine.fit({ task, steps, evalEvery: 2 }, { onProgress: (p) => progress.push(p) });
    const solved = cancelOnRestart ? undefined : await engine.solve({ task, testIndex: 0, steps: 1, maxVariants: 1, fitted: { variants: fitted.variants, rows: fitted.rows } });
    const ms = performance.now() - t0;
    await engine.dispose();
    return {
      loadedOn: info.backend.backend, canFit: info.canFit, notices, progress, stats: fitted.stats, rows: Array.from(fitted.rows), variants: fitted.variants.length,
      solvedOn: solved?.backend.backend, source: solved?.variants[0].source, grid: solved?.attempts.attempt_1, ms,
    };
  }, { url: TINY, task: fitTask, steps, cancelOnRestart });

  test('tiny fp32 model: the WebGPU device lost in the middle of a fit → the fit continues on WASM, and its rows solve there', async () => {
    const b = await launchBrowser({ webgpu: true });
    try {
      const r = await fitLosingDevice(await openHarness(b), 3, false);
      expect(r.loadedOn).toBe('webgpu');
      expect(r.canFit).toBe(true);
      // Step 1 ran on WebGPU, then the device was destroyed: step 2 failed there and the fit went on, on WASM.
      expect(r.progress.map((p) => p.step)).toEqual([1, 2, 3]);
      expect(r.progress.map((p) => p.backend)).toEqual(['webgpu', 'wasm', 'wasm']);
      expect(r.progress.every((p) => Number.isFinite(p.loss))).toBe(true);
      expect(r.notices).toContainEqual(expect.objectContaining({ kind: 'backend-fallback', from: 'webgpu', to: 'wasm' }));
      // After one unscored step the best rows are the starting ones (step 1's loss measured them).
      expect(r.notices).toContainEqual({ kind: 'fit-restarted', reason: expect.stringMatching(/^WebGPU failed mid-fit \(.+\); restarted on WASM after step 1 of 3, from the best rows so far \(step 0's/) });
      // So the first WASM step starts from those rows with a fresh carry: its loss is the fit's starting loss (measured on WebGPU).
      expect(Math.abs(r.progress[1].loss - r.stats.loss_before)).toBeLessThan(1e-4);
      expect(r.stats).toMatchObject({ steps: 3, mode: 'row', train_total: 2 });
      expect(r.stats.cancelled).toBeUndefined();
      expect(Number.isFinite(r.stats.loss_after)).toBe(true);
      expect(r.variants).toBe(1);
      expect(r.rows).toHaveLength(16);
      expect(r.rows.every(Number.isFinite)).toBe(true);
      expect(r.solvedOn).toBe('wasm');
      expect(r.source).toBe('fitted');
      expect(r.grid).toBeDefined();
      console.log(`tiny fit, device lost after step 1 → restarted on WASM: load + 3-step fit + solve ${r.ms.toFixed(0)} ms; `
        + `loss ${r.progress.map((p) => `${p.loss.toFixed(5)} (${p.backend})`).join(' → ')}; fresh-carry ${r.stats.loss_before.toFixed(5)} → ${r.stats.loss_after.toFixed(5)}`);
    } finally {
      await b.close();
    }
  });

  test('tiny fp32 model: cancel while a fit restarts on WASM ends it with the rows so far', async () => {
    const b = await launchBrowser({ webgpu: true });
    try {
      const c = await fitLosingDevice(await openHarness(b), 50, true);
      expect(c.notices.map((n) => n.kind)).toEqual(expect.arrayContaining(['backend-fallback', 'fit-restarted']));
      expect(c.progress[0].backend).toBe('webgpu');
      // Cancel keeps the best rows so far (not an error), long before step 50.
      expect(c.stats.cancelled).toBe(true);
      expect(c.stats.steps).toBeLessThan(50);
      expect(c.rows).toHaveLength(16);
      expect(c.rows.every(Number.isFinite)).toBe(true);
      console.log(`tiny fit cancelled at the restart: ${c.stats.steps} step(s) kept, best step ${c.stats.best_step}`);
    } finally {
      await b.close();
    }
  });

  test('tiny fp32 model: ms per fitting step, WebGPU (SwiftShader) vs WASM', async () => {
    const b = await launchBrowser({ webgpu: true });
    try {
      const page = await openHarness(b);
      const out = await page.evaluate(async ({ url, task }) => {
        // Steps 1 and 2 are unscored (evalEvery = steps): step 2 minus step 1 is one fitting step alone.
        const steps = 3;
        const timed = async (backend: 'webgpu' | 'wasm') => {
          const engine = new window.trm.TrmEngine();
          const t0 = performance.now();
          await engine.load(url, { backend, precision: 'fp32' });
          const progress: FitProgressEvent[] = [];
          await engine.fit({ task, steps, evalEvery: steps }, { onProgress: (p) => progress.push(p) });
          const totalMs = performance.now() - t0;
          await engine.dispose();
          return { backends: progress.map((p) => p.backend), stepMs: progress[1].elapsedMs - progress[0].elapsedMs, losses: progress.map((p) => p.loss), totalMs };
        };
        return { gpu: await timed('webgpu'), cpu: await timed('wasm') };
      }, { url: TINY, task: fitTask });
      expect(out.gpu.backends).toEqual(['webgpu', 'webgpu', 'webgpu']);
      expect(out.cpu.backends).toEqual(['wasm', 'wasm', 'wasm']);
      // Same graphs, same start: the two backends' losses agree.
      out.gpu.losses.forEach((l, i) => expect(Math.abs(l - out.cpu.losses[i])).toBeLessThan(1e-3));
      console.log(`tiny fp32 fit (2 demos, row mode): WebGPU (SwiftShader) ${out.gpu.stepMs.toFixed(0)} ms per fitting step, WASM ${out.cpu.stepMs.toFixed(0)} ms; `
        + `load + 3-step fit ${out.gpu.totalMs.toFixed(0)} / ${out.cpu.totalMs.toFixed(0)} ms`);
    } finally {
      await b.close();
    }
  });

  // WASM only: on SwiftShader WebGPU a 3-step demo fit did not finish within 5 minutes (measured), too slow for CI.
  test('fit: a demo task under a new id fits on WASM with a falling loss, and solve uses the fitted row', async () => {
    const fitTask = { ...demoTasks.find((t) => t.id === 'demo-flip-1')!, id: 'e2e-new-flip' };
    const fitIn = async (page: Page, backend: 'wasm', steps: number) => page.evaluate(async ({ url, task, backend, steps }) => {
      const engine = new window.trm.TrmEngine();
      const info = await engine.load(url, { backend, precision: 'fp32' });
      const progress: FitProgressEvent[] = [];
      const fitted = await engine.fit({ task, steps, evalEvery: steps }, { onProgress: (p) => progress.push(p) });
      const solved = await engine.solve({ task, testIndex: 0, steps: 1, maxVariants: 1, fitted: { variants: fitted.variants, rows: fitted.rows } });
      await engine.dispose();
      return { canFit: info.canFit, progress, stats: fitted.stats, rows: fitted.rows.length, source: solved.variants[0].source };
    }, { url: DEMO, task: fitTask, backend, steps });

    const b = await launchBrowser();
    try {
      const steps = 5;
      const out = await fitIn(await openHarness(b), 'wasm', steps);
      const losses = out.progress.map((p) => p.loss);
      expect(out.canFit).toBe(true);
      expect(out.progress.length).toBeGreaterThanOrEqual(steps);
      expect(out.progress.every((p) => p.backend === 'wasm')).toBe(true);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses.at(-1)!).toBeLessThan(losses[0]);
      expect(out.stats).toMatchObject({ steps, mode: 'row', train_total: fitTask.train.length });
      expect(out.rows).toBe(64);
      expect(out.source).toBe('fitted');
      // Steps 2..steps-1: fitting alone (step 1 carries the starting loss, the last step the scoring).
      const stepMs = (out.progress[steps - 2].elapsedMs - out.progress[0].elapsedMs) / (steps - 2);
      console.log(`demo fit, Chromium WASM (1 thread): ${stepMs.toFixed(0)} ms per fitting step (${fitTask.train.length} demos), `
        + `loss ${losses.map((l) => l.toFixed(4)).join(' → ')}; fresh-carry ${out.stats.loss_before.toFixed(4)} → ${out.stats.loss_after.toFixed(4)}`);
    } finally {
      await b.close();
    }
  });
});
