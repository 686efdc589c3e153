/**
 * The solver end to end in real Chromium against the production build, with the model the repo
 * ships (WASM backend): solve a demo task, watch frames stream in, scrub the timeline, check the
 * vote table and attempts against the variants' final predictions and pass@2 against the known
 * solution, export submission.json and validate it, and find the results again after a reload.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { validateSubmission } from '../src/arc/submission.ts';
import type { Grid, Task } from '../src/arc/types.ts';
import { launchBrowser, type Launched } from './browser.ts';

const MODEL = 'models/golden-h64/manifest.json';
const TASK_ID = 'demo-flip-1';
const VARIANTS = 2;
const ARTIFACTS = path.resolve(import.meta.dirname, '.artifacts');

const demoJson = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../src/arc/demo/demo-tasks.json'), 'utf8')) as Record<string, Omit<Task, 'id'>>;
const demoTasks: Task[] = Object.entries(demoJson).map(([id, t]) => ({ id, ...t }));

let b: Launched;
let page: Page;

beforeAll(async () => {
  b = await launchBrowser({ viewport: { width: 1500, height: 1000 } });
  page = b.page;
  await page.goto(inject('baseURL'));
});

afterAll(async () => {
  await b?.close();
});

const attr = (selector: string, name: string) => page.locator(selector).first().getAttribute(name);
const frameGrid = async () => JSON.parse((await attr('canvas.prediction', 'data-grid')) || 'null') as Grid | null;

test('solve a demo task: frames stream, the timeline scrubs, the vote and pass@2 agree with the frames', async () => {
  await page.getByRole('option').filter({ hasText: TASK_ID }).click();
  const solver = page.getByRole('region', { name: 'Solver' });
  await solver.getByLabel('Variants').fill(String(VARIANTS));
  // Load explicitly so the backend is WASM whatever the machine offers.
  const panel = page.getByRole('region', { name: 'Model panel' });
  await panel.getByLabel('Manifest URL').fill(MODEL);
  await panel.getByLabel('Backend').selectOption('wasm');
  await panel.getByRole('button', { name: /Load model|Reload/ }).click();
  await page.locator('[data-model-status="ready"]').waitFor({ timeout: 120_000 });
  expect(await attr('[data-backend]', 'data-backend')).toBe('wasm');
  await solver.getByRole('button', { name: /^Solve/ }).first().click();
  const slider = page.getByRole('slider', { name: 'Frame' });
  // Frames arrive one H-cycle at a time: the slider's range grows while the run is going.
  const seen = new Set<string>();
  const t0 = Date.now();
  while ((await attr('[data-run-status]', 'data-run-status')) !== 'done') {
    if (Date.now() - t0 > 240_000) throw new Error('solve did not finish in 4 min');
    const status = await attr('[data-run-status]', 'data-run-status');
    if (status === 'error') throw new Error(await page.locator('[data-run-status]').innerText());
    const max = await slider.getAttribute('max');
    if (max && !(await slider.isDisabled())) seen.add(max);
    await page.waitForTimeout(150);
  }
  expect(seen.size, `slider max values seen while running: ${[...seen]}`).toBeGreaterThanOrEqual(3);
  // The golden model has no rows for demo tasks: the UI must say so.
  expect(await page.locator('[data-embedding="untrained"]').count()).toBeGreaterThan(0);

  // 16 ACT steps × 3 H-cycles of the golden model's config.
  const frames = 16 * 3;
  expect(await slider.getAttribute('max')).toBe(String(frames - 1));
  expect(await attr('canvas.prediction', 'data-frame')).toBe(String(frames - 1));
  const last = await frameGrid();

  // Scrub: every frame shows a grid, and the recursion changes it somewhere along the way.
  const grids = new Set<string>();
  for (const i of [0, 1, 2, 5, 11, 23, 35, 47]) {
    await slider.fill(String(i));
    await expect.poll(() => attr('canvas.prediction', 'data-frame')).toBe(String(i));
    grids.add((await attr('canvas.prediction', 'data-grid'))!);
  }
  expect(grids.size, 'distinct predictions across the scrubbed frames').toBeGreaterThan(1);
  // Keyboard: ← and → step one frame.
  await slider.fill('10');
  await page.locator('body').click({ position: { x: 2, y: 2 } });
  await page.keyboard.press('ArrowRight');
  await expect.poll(() => attr('canvas.prediction', 'data-frame')).toBe('11');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await expect.poll(() => attr('canvas.prediction', 'data-frame')).toBe('9');
  await page.getByRole('button', { name: 'Latest' }).click();
  await expect.poll(() => frameGrid()).toEqual(last);

  // Accuracy against the known solution is reported per frame.
  expect(await page.locator('.frame-info').innerText()).toMatch(/solution/);
  // The confidence view paints the same grid differently (cell opacity = confidence).
  const pixels = () => page.locator('canvas.prediction').evaluate((c) => (c as HTMLCanvasElement).toDataURL());
  const changesView = await pixels();
  await page.getByRole('radio', { name: 'confidence' }).check();
  await expect.poll(pixels).not.toBe(changesView);
  await page.getByRole('radio', { name: 'changed cells' }).check();

  // The q chart has one point per ACT step.
  expect(await attr('canvas[aria-label="Halting confidence chart"]', 'data-points')).toBe('16');

  // Vote table vs the variants' final predictions (the last frame, de-augmented).
  const variantGrids = await page.locator('.variant-strip canvas').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.grid!));
  expect(variantGrids.length).toBe(VARIANTS);
  const rows = await page.locator('.vote-table tbody tr').evaluateAll((els) =>
    els.map((e) => ({ grid: (e as HTMLElement).dataset.grid!, count: Number((e as HTMLElement).dataset.count), q: Number((e as HTMLElement).dataset.meanQ) })));
  const counts = new Map<string, number>();
  for (const g of variantGrids) counts.set(g, (counts.get(g) ?? 0) + 1);
  expect(new Map(rows.map((r) => [r.grid, r.count]))).toEqual(counts);
  for (let k = 1; k < rows.length; k++) {
    const [a, c] = [rows[k - 1], rows[k]];
    expect(a.count > c.count || (a.count === c.count && a.q >= c.q), `row ${k} is ranked by (count, mean q)`).toBe(true);
  }
  const attempt1 = await attr('[data-attempt="1"]', 'data-grid');
  const attempt2 = await attr('[data-attempt="2"]', 'data-grid');
  expect(attempt1).toBe(rows[0].grid);
  expect(attempt2).toBe((rows[1] ?? rows[0]).grid);

  // pass@2 against the known solution, recomputed here from the table.
  const solution = JSON.stringify(demoTasks.find((t) => t.id === TASK_ID)!.test[0].output);
  expect(await attr('[data-pass="pass@2"]', 'data-ok')).toBe(String(rows.slice(0, 2).some((r) => r.grid === solution)));
  expect(await attr('[data-pass="pass@1"]', 'data-ok')).toBe(String(rows[0].grid === solution));
  const summary = page.locator('.summary');
  expect(Number(await summary.getAttribute('data-scored'))).toBe(demoTasks.length);
  await expect.poll(() => page.getByRole('option').filter({ hasText: TASK_ID }).locator('[data-model-state]').getAttribute('data-model-state'))
    .toMatch(/^(correct|wrong)$/);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'solver.png'), fullPage: true });
});

test('Export video records the run as a WebM file', async () => {
  const download = page.waitForEvent('download', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Export video (WebM)' }).click();
  const file = readFileSync((await (await download).path())!);
  // Every WebM file starts with the EBML magic number.
  expect(file.subarray(0, 4).toString('hex')).toBe('1a45dfa3');
  expect(file.length).toBeGreaterThan(1000);
});

test('Export submission writes a valid Kaggle submission.json for every loaded task', async () => {
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export submission' }).click();
  const file = await (await download).path();
  const submission = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { attempt_1: Grid; attempt_2: Grid }[]>;
  expect(validateSubmission(submission, demoTasks)).toEqual([]);
  expect(JSON.stringify(submission[TASK_ID][0].attempt_1)).toBe(await attr('[data-attempt="1"]', 'data-grid'));
  await expect.poll(() => page.locator('[data-export-note]').innerText()).toMatch(/placeholder/);
});

test('Solve all shows progress over the loaded tasks and can be cancelled', async () => {
  await page.getByRole('button', { name: 'Solve all' }).click();
  const progress = page.locator('[data-tasks-total]');
  await expect.poll(() => progress.getAttribute('data-tasks-total')).toBe(String(demoTasks.length));
  // Cancel once the first task's frames are streaming (it is not demo-flip-1, which is solved).
  await expect.poll(() => page.getByRole('slider', { name: 'Frame' }).getAttribute('max'), { timeout: 120_000 }).not.toBe('0');
  await page.getByRole('region', { name: 'Solver' }).getByRole('button', { name: 'Cancel' }).last().click();
  await expect.poll(() => progress.innerText(), { timeout: 60_000 }).toMatch(/stopped \(cancelled\)/);
  expect(await page.getByRole('progressbar', { name: 'Solve all progress' }).getAttribute('max')).toBe(String(demoTasks.reduce((n, t) => n + t.test.length, 0)));
  expect(await attr('[data-run-status]', 'data-run-status')).toBe('cancelled');
});

test('results survive a reload (IndexedDB)', async () => {
  const before = await attr('[data-attempt="1"]', 'data-grid');
  await page.reload();
  await page.getByRole('option').filter({ hasText: TASK_ID }).click();
  await expect.poll(() => attr('[data-attempt="1"]', 'data-grid'), { timeout: 10_000 }).toBe(before);
});
