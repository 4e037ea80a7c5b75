import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { describeRequiring } from './requires.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A `describe` that needs Chromium: see describeRequiring. */
export function describeInChromium(name: string, body: () => void): void {
  describeRequiring(name, existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`, body);
}

/** Launches Debian's Chromium headless, with nothing running in the background. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/**
 * Builds the client's browser bundle from its current sources and returns its path, so the
 * browser tests always run the code under test.
 */
export function buildBrowserBundle(): string {
  const entry = import.meta.resolve('@herald/client');
  const script = fileURLToPath(new URL('../scripts/bundle.mjs', entry));
  const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bundling the client failed: ${result.stderr || result.stdout}`);
  return fileURLToPath(new URL('./herald-client.browser.js', entry));
}
