import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startHerald, type HeraldFixture } from '@herald/server/testing';
import { launchChromium } from './browser.js';

const CONSOLE_DIR = new URL('../../../console/', import.meta.url);

/**
 * Bundles the console from its current sources and returns the directory the gateway serves
 * (`console.assets`), so the browser tests always run the code under test.
 */
export function buildConsole(): string {
  const script = fileURLToPath(new URL('scripts/bundle.mjs', CONSOLE_DIR));
  const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bundling the console failed: ${result.stderr || result.stdout}`);
  return fileURLToPath(new URL('dist/public/', CONSOLE_DIR));
}

export const CONSOLE_PASSWORD = 'console-password-0123';

/** The console section of a test gateway: on, with the test password and the freshly built files. */
export const consoleConfig = (assets: string, extra: Record<string, unknown> = {}) => ({ console: { enabled: true, password: CONSOLE_PASSWORD, assets, ...extra } });

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Opens a page of the navigation and waits for it. */
  go(page: 'overview' | 'channels' | 'connections' | 'locks' | 'streams' | 'audit' | 'webhooks' | 'config'): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A fresh browser context (no cookies) on the console of `url`, signed in through the sign-in
 * page with a password or a token, and waiting for the Overview.
 */
export async function signInToConsole(browser: Browser, url: string, credentials: { password: string } | { token: string }): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${url}/console/`);
  if ('token' in credentials) {
    await page.check('input[value=token]');
    await page.fill('textarea[name=token]', credentials.token);
  } else {
    await page.fill('input[name=password]', credentials.password);
  }
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-page=overview]');
  const close = () => context.close();
  return {
    page,
    context,
    async go(name) {
      await page.click(`[data-nav=${name}]`);
      await page.waitForSelector(`[data-page=${name}]`);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * For a suite of console tests: bundles the console and launches one Chromium before them, closes
 * it after; `herald()` starts a gateway serving that bundle with the console on.
 */
export function consoleSuite() {
  let browser: Browser | undefined;
  let assets = '';
  before(async () => {
    assets = buildConsole();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  return {
    get browser(): Browser {
      if (!browser) throw new Error('Chromium is not running: use the suite inside its tests');
      return browser;
    },
    herald: (extra: Record<string, unknown> = {}): Promise<HeraldFixture> => startHerald({ ...consoleConfig(assets), ...extra }),
  };
}
