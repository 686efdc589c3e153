/**
 * The app shell in real Chromium against the production build: demo gallery, loading tasks
 * (file input, paste, drop), canvas rendering checked by reading pixels back, load errors,
 * the output editor with Check, and persistence across a reload.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, type Launched } from './browser.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '.artifacts');

// Expected colours straight from the published palettes (docs part C3), not from the app's code.
const ARCPRIZE = ['#000000', '#1e93ff', '#f93c31', '#4fcc30', '#ffdc00', '#999999', '#e53aa3', '#ff851b', '#87d8f1', '#921231'];
const ORIGINAL = ['#000000', '#0074d9', '#ff4136', '#2ecc40', '#ffdc00', '#aaaaaa', '#f012be', '#ff851b', '#7fdbff', '#870c25'];

// A mirror task authored for this test: the output is the input flipped left-right.
const MIRROR = {
  train: [
    { input: [[1, 0, 0], [0, 4, 0]], output: [[0, 0, 1], [0, 4, 0]] },
    { input: [[7, 8], [9, 0]], output: [[8, 7], [0, 9]] },
  ],
  test: [{ input: [[0, 2, 5], [3, 0, 0]], output: [[5, 2, 0], [0, 0, 3]] }],
};

let b: Launched;
let page: Page;

async function upload(files: { name: string; text: string }[]) {
  await page.getByLabel('Open task files').setInputFiles(files.map((f) => ({ name: f.name, mimeType: 'application/json', buffer: Buffer.from(f.text) })));
}

/** Colour of cell (row, col) of the canvas named `label`, read from its backing store. */
async function cellColor(label: string, row: number, col: number): Promise<string> {
  return page.evaluate(
    ({ label, row, col }) => {
      const canvas = [...document.querySelectorAll('canvas')].find((c) => c.getAttribute('aria-label')?.startsWith(label));
      if (!canvas) throw new Error(`no canvas ${label}`);
      const cell = Number(canvas.dataset.cellSize);
      const line = Number(canvas.dataset.gridLines);
      const scale = canvas.width / canvas.getBoundingClientRect().width;
      const x = (col * cell + line + (cell - line) / 2) * scale;
      const y = (row * cell + line + (cell - line) / 2) * scale;
      const [r, g, bl] = canvas.getContext('2d')!.getImageData(Math.floor(x), Math.floor(y), 1, 1).data;
      return '#' + [r, g, bl].map((v) => v.toString(16).padStart(2, '0')).join('');
    },
    { label, row, col },
  );
}

async function clickCell(label: string, row: number, col: number) {
  const canvas = page.locator(`canvas[aria-label^="${label}"]`);
  const cell = Number(await canvas.getAttribute('data-cell-size'));
  await canvas.click({ position: { x: col * cell + 1 + cell / 2, y: row * cell + 1 + cell / 2 } });
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  b = await launchBrowser({ viewport: { width: 1440, height: 900 } });
  page = b.page;
  await page.goto(inject('baseURL'));
});

afterAll(async () => {
  await b?.close();
});

describe('app shell', () => {
  it('shows the demo gallery and the main controls by accessible name', async () => {
    await page.getByRole('heading', { name: 'Demo tasks' }).waitFor();
    expect(await page.getByRole('button', { name: /^Open task / }).count()).toBeGreaterThanOrEqual(6);
    expect(await page.getByLabel('Open task files').getAttribute('type')).toBe('file');
    const list = page.getByRole('listbox', { name: 'Tasks' });
    expect(await list.getByRole('option').count()).toBeGreaterThanOrEqual(6);
    await page.screenshot({ path: path.join(ARTIFACTS, 'app-shell-gallery.png') });
  });

  it('loads a task through the file input and draws it in the chosen palette at devicePixelRatio 2', async () => {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: 1440, height: 900, deviceScaleFactor: 2, mobile: false });
    await upload([{ name: 'mirror-e2e.json', text: JSON.stringify(MIRROR) }]);
    await page.getByRole('option', { name: /mirror-e2e/ }).waitFor();
    expect(await page.getByRole('option', { name: /mirror-e2e/ }).getAttribute('aria-selected')).toBe('true');
    await page.getByRole('heading', { name: 'mirror-e2e' }).waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'Loaded 1 task from mirror-e2e.json' }).count()).toBe(1);
    // Named controls other features hang off (they may be disabled until wired).
    expect(await page.getByRole('button', { name: 'Solve', exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Export submission', exact: true }).count()).toBe(1);

    // Backing store is twice the CSS size, and every cell reads back in its palette colour.
    const dims = await page.locator('canvas[aria-label^="Train 1 input"]').evaluate((c: HTMLCanvasElement) => [c.width, c.getBoundingClientRect().width]);
    expect(dims[0]).toBe(dims[1] * 2);
    for (const [r, row] of MIRROR.train[0].input.entries()) {
      for (const [c, v] of row.entries()) expect(await cellColor('Train 1 input', r, c)).toBe(ARCPRIZE[v]);
    }
    expect(await cellColor('Train 2 output', 0, 0)).toBe(ARCPRIZE[8]);
    expect(await cellColor('Test 1 input', 0, 2)).toBe(ARCPRIZE[5]);

    await page.getByLabel('Palette').selectOption('original');
    expect(await cellColor('Train 1 input', 0, 0)).toBe(ORIGINAL[1]);
    expect(await cellColor('Train 2 input', 1, 0)).toBe(ORIGINAL[9]);
    await page.getByLabel('Palette').selectOption('arcprize');
    await cdp.send('Emulation.clearDeviceMetricsOverride');
  });

  it('reports a malformed file by name and field path and keeps the loaded tasks', async () => {
    const ragged = { ...MIRROR, train: [MIRROR.train[0], { input: [[1, 2], [3]], output: [[1]] }] };
    await upload([
      { name: 'ragged.json', text: JSON.stringify(ragged) },
      { name: 'notjson.json', text: '{"train": [' },
    ]);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).toContain('ragged.json: train[1].input row 1 has 1 cells, row 0 has 2');
    expect(text).toContain('notjson.json: not valid JSON');
    expect(await page.getByRole('option', { name: /mirror-e2e/ }).count()).toBe(1);
    expect(await page.getByRole('option', { name: /^ragged/ }).count()).toBe(0);
  });

  it('loads a combined challenges file with its solutions, keeping good tasks when one is bad', async () => {
    const challenges = { 'kg-good': { train: MIRROR.train, test: [{ input: [[1, 2]] }] }, 'kg-bad': { train: [], test: MIRROR.test } };
    const solutions = { 'kg-good': [[[2, 1]]] };
    await upload([
      { name: 'combined_challenges.json', text: JSON.stringify(challenges) },
      { name: 'combined_solutions.json', text: JSON.stringify(solutions) },
    ]);
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'combined_challenges.json task kg-bad: "train" is empty' }).waitFor();
    await page.getByRole('heading', { name: 'kg-good' }).waitFor();
    // The solution arrived, so Check is available.
    expect(await page.getByRole('button', { name: 'Check' }).isDisabled()).toBe(false);
  });

  it('loads tasks by paste and by drag-and-drop', async () => {
    const pasted = { ...MIRROR, test: [{ input: [[6]] }] };
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.setData('text/plain', text);
      window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt }));
    }, JSON.stringify(pasted));
    await page.getByRole('heading', { name: /^pasted-[0-9a-f]{8}$/ }).waitFor();

    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'dropped.json', { type: 'application/json' }));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, cancelable: true }));
    }, JSON.stringify(MIRROR));
    await page.getByRole('heading', { name: 'dropped' }).waitFor();

    await page.getByRole('button', { name: 'Paste JSON' }).click();
    await page.getByRole('dialog', { name: 'Paste task JSON' }).getByLabel('Task JSON').fill('{"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]]}], "extra": 1}');
    await page.getByRole('button', { name: 'Load', exact: true }).click();
    expect(await page.getByRole('dialog').count()).toBe(0);
    await page.getByRole('status', { name: 'Load report' }).filter({ hasText: 'Loaded 1 task from pasted text' }).waitFor();
  });

  it('edits a test output with mouse and keys, undoes, and checks against the solution', async () => {
    await page.getByRole('option', { name: /mirror-e2e/ }).click();
    await page.getByRole('heading', { name: 'mirror-e2e' }).waitFor();
    const editor = 'Test 1 output (editing)';
    const check = page.getByRole('button', { name: 'Check' });
    const verdict = page.getByRole('region', { name: 'Output editor for test 1' }).getByRole('status');

    await page.keyboard.press('5');
    await clickCell(editor, 0, 0);
    expect(await cellColor(editor, 0, 0)).toBe(ARCPRIZE[5]);
    await check.click();
    await verdict.filter({ hasText: 'Not yet' }).waitFor();

    await page.keyboard.press('Control+z');
    expect(await cellColor(editor, 0, 0)).toBe(ARCPRIZE[0]);
    await page.keyboard.press('Control+Shift+Z');
    expect(await cellColor(editor, 0, 0)).toBe(ARCPRIZE[5]);
    expect(await verdict.innerText()).toBe(''); // an edit clears the old verdict

    // A drag paints a stroke that undoes as one step.
    await page.keyboard.press('7');
    const canvas = page.locator(`canvas[aria-label^="${editor}"]`);
    const box = (await canvas.boundingBox())!;
    const cell = Number(await canvas.getAttribute('data-cell-size'));
    await page.mouse.move(box.x + 1 + cell / 2, box.y + 1 + cell * 1.5);
    await page.mouse.down();
    await page.mouse.move(box.x + 1 + cell * 1.5, box.y + 1 + cell * 1.5, { steps: 3 });
    await page.mouse.up();
    expect([await cellColor(editor, 1, 0), await cellColor(editor, 1, 1)]).toEqual([ARCPRIZE[7], ARCPRIZE[7]]);
    await page.keyboard.press('Control+z');
    expect([await cellColor(editor, 1, 0), await cellColor(editor, 1, 1), await cellColor(editor, 0, 0)]).toEqual([ARCPRIZE[0], ARCPRIZE[0], ARCPRIZE[5]]);

    await page.getByRole('button', { name: 'Colour 2 (red)' }).click();
    await clickCell(editor, 0, 1);
    await page.keyboard.press('3');
    await clickCell(editor, 1, 2);
    await check.click();
    await verdict.filter({ hasText: 'Correct' }).waitFor();
    await page.getByRole('option', { name: /mirror-e2e.*solved/ }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'app-shell-task.png') });
  });

  it('fills a selection with a colour key, and ignores shortcuts while typing in a text field', async () => {
    const editor = 'Test 1 output (editing)';
    await page.keyboard.press('s');
    expect(await page.getByRole('button', { name: 'Select' }).getAttribute('aria-pressed')).toBe('true');
    const canvas = page.locator(`canvas[aria-label^="${editor}"]`);
    const box = (await canvas.boundingBox())!;
    const cell = Number(await canvas.getAttribute('data-cell-size'));
    await page.mouse.move(box.x + 1 + cell / 2, box.y + 1 + cell / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + 1 + cell * 1.5, box.y + 1 + cell * 1.5, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.press('4');
    for (const [r, c] of [[0, 0], [0, 1], [1, 0], [1, 1]]) expect(await cellColor(editor, r, c)).toBe(ARCPRIZE[4]);
    expect(await cellColor(editor, 1, 2)).toBe(ARCPRIZE[3]);

    await page.getByLabel('Search tasks').fill('7');
    await page.getByLabel('Search tasks').press('d');
    expect(await page.getByRole('button', { name: 'Select' }).getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByRole('button', { name: 'Colour 4 (yellow)' }).getAttribute('aria-pressed')).toBe('true');
    await page.getByLabel('Search tasks').fill('');
    await page.keyboard.press('Control+z');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Control+z');
    expect(await cellColor(editor, 0, 0)).toBe(ARCPRIZE[5]);
    await page.keyboard.press('d');
  });

  it('copies the input, resizes keeping the top-left, flood fills and resets', async () => {
    const editor = 'Test 1 output (editing)';
    const canvas = page.locator(`canvas[aria-label^="${editor}"]`);
    await page.getByRole('button', { name: 'Copy from input' }).click();
    for (const [r, row] of MIRROR.test[0].input.entries()) {
      for (const [c, v] of row.entries()) expect(await cellColor(editor, r, c)).toBe(ARCPRIZE[v]);
    }
    await page.getByLabel('Output size for test 1').fill('3x4');
    await page.getByRole('button', { name: 'Resize' }).click();
    expect([await canvas.getAttribute('data-rows'), await canvas.getAttribute('data-cols')]).toEqual(['3', '4']);
    expect(await cellColor(editor, 0, 2)).toBe(ARCPRIZE[5]);
    expect(await cellColor(editor, 2, 3)).toBe(ARCPRIZE[0]);
    await page.getByLabel('Output size for test 1').fill('31x2');
    await page.getByRole('button', { name: 'Resize' }).click();
    await page.getByText('Size must be rows×cols, each 1–30').waitFor();

    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('f');
    await page.keyboard.press('6');
    await clickCell(editor, 2, 3); // the 0-region touching the bottom-right
    expect(await cellColor(editor, 2, 0)).toBe(ARCPRIZE[6]);
    expect(await cellColor(editor, 1, 1)).toBe(ARCPRIZE[6]);
    expect(await cellColor(editor, 1, 0)).toBe(ARCPRIZE[3]); // a different colour stops the fill
    await page.getByRole('button', { name: 'Reset' }).click();
    expect(await cellColor(editor, 1, 0)).toBe(ARCPRIZE[0]);
    await page.keyboard.press('d');
  });

  it('keeps a 30×30 grid legible in a narrow window', async () => {
    const big = Array.from({ length: 30 }, (_, r) => Array.from({ length: 30 }, (_, c) => (r * 7 + c * 3) % 10));
    await page.setViewportSize({ width: 480, height: 800 });
    await upload([{ name: 'big-30.json', text: JSON.stringify({ train: [{ input: big, output: big }], test: [{ input: big }] }) }]);
    await page.getByRole('heading', { name: 'big-30' }).waitFor();
    for (const label of ['Train 1 input', 'Test 1 input', 'Test 1 output (editing)']) {
      const canvas = page.locator(`canvas[aria-label^="${label}"]`);
      await canvas.scrollIntoViewIfNeeded();
      const cell = Number(await canvas.getAttribute('data-cell-size'));
      const fits = await canvas.evaluate((c) => c.getBoundingClientRect().right <= document.documentElement.clientWidth);
      expect(cell, label).toBeGreaterThanOrEqual(8);
      expect(fits, label).toBe(true);
      expect(await cellColor(label, 29, 29)).toBe(ARCPRIZE[(29 * 7 + 29 * 3) % 10]);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'app-shell-narrow.png'), fullPage: false });
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('keeps loaded tasks and solved marks across a reload', async () => {
    await page.waitForTimeout(400); // the store saves debounced
    await page.reload();
    await page.getByRole('option', { name: /mirror-e2e.*solved/ }).waitFor();
    expect(await page.getByRole('option', { name: /kg-good/ }).count()).toBe(1);
    expect(b.errors).toEqual([]);
  });
});

// The real ARC-AGI-2 training set through the file input: none may be rejected.
const ARC2 = path.resolve(import.meta.dirname, '../../shared/arc-agi-2/training');
describe.skipIf(!existsSync(ARC2))('real ARC-AGI-2 tasks in the browser', () => {
  it('loads all 1000 training files through the file input with no rejection', async () => {
    const files = readdirSync(ARC2).filter((n) => n.endsWith('.json')).map((n) => path.join(ARC2, n));
    const l = await launchBrowser();
    try {
      await l.page.goto(inject('baseURL'));
      await l.page.getByRole('heading', { name: 'Demo tasks' }).waitFor();
      // In-page timing: from the input's change event to the report being rendered.
      const inPage = l.page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            let t0 = 0;
            document.querySelector('input[type=file]')!.addEventListener('change', () => (t0 = performance.now()), { capture: true });
            new MutationObserver((_, obs) => {
              if (t0 && /Loaded \d+ tasks/.test(document.querySelector('[aria-label="Load report"]')?.textContent ?? '')) {
                obs.disconnect();
                resolve(performance.now() - t0);
              }
            }).observe(document.body, { childList: true, subtree: true, characterData: true });
          }),
      );
      const t0 = Date.now();
      await l.page.getByLabel('Open task files').setInputFiles(files);
      const status = l.page.getByRole('status').filter({ hasText: /^Loaded \d+ tasks from/ });
      await status.waitFor({ timeout: 120_000 });
      console.log(
        `loaded ${files.length} ARC-AGI-2 training files in the browser: ${(await inPage).toFixed(0)} ms from change event to rendered list, ` +
          `${Date.now() - t0} ms including Playwright's file transfer`,
      );
      expect(await status.innerText()).toContain(`Loaded ${files.length} tasks from ${files.length} files`);
      expect(await l.page.getByRole('alert').count()).toBe(0);
      await l.page.getByLabel('Search tasks').fill('007bbfb7');
      await l.page.getByRole('option', { name: /007bbfb7/ }).click();
      await l.page.getByRole('heading', { name: '007bbfb7' }).waitFor();
      expect(l.errors).toEqual([]);
    } finally {
      await l.close();
    }
  });
});
if (!existsSync(ARC2)) console.warn(`SKIP real-task e2e: ${ARC2} not found`);
