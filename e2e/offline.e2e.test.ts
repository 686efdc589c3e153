/**
 * Offline use in real Chromium against the production build: one visit online installs the
 * service worker and its verified offline copy; then the browser goes offline, the page reloads,
 * and a demo task is solved on WASM with frames drawn. Every request of the whole test is
 * watched (page, inference worker and service worker): none may go to another origin, and
 * once offline every answered request must come from the service worker.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Request } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { launchBrowser, type Launched } from './browser.ts';

const MODEL = 'models/golden-h64/manifest.json';
const TASK_ID = 'demo-flip-1';
const SW_PATH = path.resolve(import.meta.dirname, '../dist/sw.js');

let b: Launched;
let origin: string;
const foreign: string[] = [];

beforeAll(async () => {
  b = await launchBrowser();
  origin = new URL(inject('baseURL')).origin;
  const isForeign = (url: string) => !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin;
  b.context.on('request', (r: Request) => {
    if (isForeign(r.url())) foreign.push(r.url());
  });
  // Belt and braces: a foreign request would also be refused here, never reaching the network.
  await b.context.route((url) => isForeign(url.href), (route) => route.abort('blockedbyclient'));
});

afterAll(async () => {
  await b?.close();
});

test('one visit online, then offline: reload, solve a demo task on WASM, frames appear; no request leaves the origin', async () => {
  const { page, context } = b;
  await page.goto(inject('baseURL'));
  // "Ready offline" only after the service worker cached everything and every model file hashed right.
  await page.locator('[data-offline-status="ready"]').waitFor({ timeout: 120_000 });
  // Every precached model is listed (the demo model too, once it ships); the one solved below must be.
  const ready = (await page.locator('[data-ready-offline]').getAttribute('data-ready-offline'))!.split(',');
  expect(ready).toContain('golden-h64');
  const usage = Number(await page.locator('[data-storage-usage]').getAttribute('data-storage-usage'));
  const quota = Number(await page.locator('[data-storage-quota]').getAttribute('data-storage-quota'));
  // The offline copy holds the ~27 MB ORT wasm.
  expect(usage).toBeGreaterThan(20 * 1024 * 1024);
  expect(quota).toBeGreaterThan(usage);

  await context.setOffline(true);
  const offline: Request[] = [];
  context.on('request', (r) => offline.push(r));
  // The network really is gone, for the page and for the service worker behind it.
  const probe = await page.evaluate(() => fetch('/engine-harness.html', { cache: 'no-store' }).then(() => 'fetched', (e: Error) => e.name));
  expect(probe).toBe('TypeError');

  await page.reload();
  expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  // Served by the service worker, the page keeps cross-origin isolation (threaded WASM).
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await page.locator('[data-offline-status="ready"]').waitFor({ timeout: 60_000 });

  await page.getByRole('option').filter({ hasText: TASK_ID }).click();
  const panel = page.getByRole('region', { name: 'Model panel' });
  await panel.getByLabel('Manifest URL').fill(MODEL);
  await panel.getByLabel('Backend').selectOption('wasm');
  await panel.getByRole('button', { name: /Load model|Reload/ }).click();
  const status = page.locator('[data-model-status="ready"], [data-model-status="error"]');
  await status.waitFor({ timeout: 120_000 });
  expect(await status.getAttribute('data-model-status'), await status.innerText()).toBe('ready');
  expect(await page.locator('[data-backend]').first().getAttribute('data-backend')).toBe('wasm');

  const solver = page.getByRole('region', { name: 'Solver' });
  await solver.getByLabel('Variants').fill('1');
  await solver.getByRole('button', { name: /^Solve/ }).first().click();
  // A few H-cycles are enough to show the recursion runs and draws: then stop.
  const slider = page.getByRole('slider', { name: 'Frame' });
  await expect.poll(async () => Number(await slider.getAttribute('max')), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  const grid = JSON.parse((await page.locator('canvas.prediction').first().getAttribute('data-grid')) || 'null') as number[][] | null;
  expect(grid?.length).toBeGreaterThan(0);
  await solver.getByRole('button', { name: 'Cancel' }).first().click();
  await expect.poll(() => page.locator('[data-run-status]').getAttribute('data-run-status')).toBe('cancelled');

  expect(foreign, 'requests to other origins').toEqual([]);
  // Offline, every request that got an answer got it from the service worker's cache; the only
  // failures are the probe above and the browser's own update check of sw.js.
  const answered = await Promise.all(offline.map(async (r) => ({ url: r.url(), response: await r.response() })));
  const network = answered.filter((a) => a.response && !a.response.fromServiceWorker() && !/^(data|blob):/.test(a.url));
  expect(network.map((a) => a.url), 'answered offline, not by the service worker').toEqual([]);
  const failed = answered.filter((a) => !a.response && !/^(data|blob):/.test(a.url)).map((a) => new URL(a.url).pathname);
  expect(failed.filter((p) => p !== '/engine-harness.html' && p !== '/sw.js'), 'failed offline').toEqual([]);
  expect(b.errors.filter((e) => /Content.Security.Policy|Refused to/i.test(e)), 'CSP violations').toEqual([]);
});

test('a newly deployed build is offered with an update prompt, and taking it reloads onto the new version', async () => {
  const { page, context } = b;
  await context.setOffline(false);
  const workers = () => page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => ({ waiting: !!r?.waiting, controlled: !!navigator.serviceWorker.controller })));
  // "Deploy" a new build: sw.js one byte longer, as any rebuild with a change makes it (vite
  // preview reads dist/ on every request). Restored below whatever happens.
  const original = readFileSync(SW_PATH, 'utf8');
  writeFileSync(SW_PATH, `${original}\n// next build\n`);
  try {
    await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.update()));
  } finally {
    writeFileSync(SW_PATH, original);
  }
  const prompt = page.getByRole('alert').filter({ hasText: 'A new version of TRM Studio is ready' });
  await prompt.waitFor({ timeout: 60_000 });
  // The open tab keeps its build until the user says so: the new worker waits.
  expect(await workers()).toEqual({ waiting: true, controlled: true });
  const reloaded = page.waitForEvent('load');
  await prompt.getByRole('button', { name: 'Reload to update' }).click();
  await reloaded;
  await page.locator('[data-offline-status="ready"]').waitFor({ timeout: 60_000 });
  expect(await workers()).toEqual({ waiting: false, controlled: true });
  expect(await page.getByRole('alert').filter({ hasText: 'A new version' }).count()).toBe(0);
  expect(foreign, 'requests to other origins').toEqual([]);
});
