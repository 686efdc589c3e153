/**
 * Conference mode in real Chromium against the production build: the "Conference mode" button
 * opens the full-screen presentation, which solves the demo tasks one after another with the
 * recursion drawn frame by frame under a caption (task, step, q_halt); any key returns to the
 * normal view. `?pace=30` shortens each frame's time on screen so two tasks fit in a short test.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { launchBrowser, type Launched } from './browser.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '.artifacts');

let b: Launched;

beforeAll(async () => {
  b = await launchBrowser({ viewport: { width: 1280, height: 720 } });
});

afterAll(async () => {
  await b?.close();
});

test('conference mode cycles through demo tasks with the recursion animated, and any key leaves it', async () => {
  const { page } = b;
  await page.goto(`${inject('baseURL')}/?pace=30`);
  await page.getByRole('button', { name: 'Conference mode' }).click();
  const view = page.getByRole('dialog', { name: 'Conference mode' });
  await view.waitFor();

  // Sample the view until two different tasks have each shown frames of their recursion.
  const framesByTask = new Map<string, number>();
  const captions = new Set<string>();
  const t0 = Date.now();
  while ([...framesByTask.values()].filter((n) => n > 0).length < 2) {
    if (Date.now() - t0 > 180_000) throw new Error(`conference mode did not reach a second task: ${JSON.stringify([...framesByTask])}`);
    // One read of the attributes and the caption together: read apart, the view can move on to the
    // next task ("starting…") between them.
    const { phase, task, shown, caption } = await view.evaluate((el) => ({
      phase: el.getAttribute('data-phase'), task: el.getAttribute('data-task'), shown: Number(el.getAttribute('data-frames-shown')),
      caption: (el.querySelector('.conference-caption') as HTMLElement | null)?.innerText ?? '',
    }));
    if (phase === 'error') throw new Error(caption);
    if (task) framesByTask.set(task, Math.max(framesByTask.get(task) ?? 0, shown));
    if (shown > 0) captions.add(caption);
    await page.waitForTimeout(100);
  }
  const tasks = [...framesByTask.keys()];
  expect(new Set(tasks).size).toBeGreaterThanOrEqual(2);
  // Frames of one task advance one at a time: more than one distinct step caption was seen.
  expect(captions.size).toBeGreaterThan(1);
  // The caption counts within the default model's own ACT steps and H-cycles.
  for (const c of captions) {
    const m = /Step (\d+)\/(\d+) · H-cycle (\d+)\/(\d+)\s+q_halt [01]\.\d\d/.exec(c);
    expect(m, c).not.toBeNull();
    const [step, steps, h, hs] = m!.slice(1).map(Number);
    expect(step >= 1 && step <= steps && h >= 1 && h <= hs, c).toBe(true);
  }

  // Large canvases: the prediction fills a good part of a 1280×720 screen.
  const answer = view.getByRole('img', { name: "Model's answer" });
  const box = (await answer.boundingBox())!;
  expect(Math.max(box.width, box.height)).toBeGreaterThan(200);
  expect(JSON.parse((await answer.getAttribute('data-grid')) || 'null')).not.toBeNull();
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'conference.png') });

  await page.keyboard.press('Space');
  await view.waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Conference mode' }).waitFor();
  expect(b.errors.filter((e) => !/favicon/.test(e)), 'page errors').toEqual([]);
});
