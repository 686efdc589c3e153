import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Flags measured to work headless on a GPU-less machine with a closed network.
const BASE_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchOptions {
  /** Enable WebGPU (SwiftShader on this machine). */
  webgpu?: boolean;
  /** Reuse a profile directory (to test persistence across launches); a fresh temp dir otherwise. */
  profileDir?: string;
  viewport?: { width: number; height: number };
}

export interface Launched {
  context: BrowserContext;
  page: Page;
  profileDir: string;
  /** Every console error and page error, for assertions and debugging. */
  errors: string[];
  close(): Promise<void>;
}

export function freshProfileDir(): string {
  return mkdtempSync(join(tmpdir(), 'trm-e2e-'));
}

export async function launchBrowser(opts: LaunchOptions = {}): Promise<Launched> {
  const owned = !opts.profileDir;
  const profileDir = opts.profileDir ?? freshProfileDir();
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    ignoreDefaultArgs: ['--headless'],
    args: [...BASE_ARGS, ...(opts.webgpu ? ['--enable-unsafe-webgpu'] : [])],
    viewport: opts.viewport ?? { width: 1400, height: 900 },
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  const watch = (p: Page) => {
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
  };
  watch(page);
  context.on('page', watch);
  return {
    context,
    page,
    profileDir,
    errors,
    async close() {
      await context.close();
      if (owned) rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
