import { expect, inject, test } from 'vitest';
import { launchBrowser } from './browser.ts';

test('the built app serves its page', async () => {
  const b = await launchBrowser();
  try {
    await b.page.goto(inject('baseURL'));
    expect(await b.page.title()).toBe('TRM Studio');
  } finally {
    await b.close();
  }
});
