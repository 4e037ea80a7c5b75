import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { startHerald } from '@herald/server/testing';
import { describeInChromium, launchChromium } from '../support/browser.js';
import { testClient } from '../support/herald-client.js';
import { startStaticServer } from '../support/static-server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const APP = fileURLToPath(new URL('../../react-app/app.jsx', import.meta.url));

/** Bundles the React app (React, react-dom and @herald/client from the workspace) for the browser. */
async function bundleApp(): Promise<string> {
  const result = await build({
    entryPoints: [APP],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

describeInChromium('@herald/client with React in Chromium', () => {
  let browser: Browser;
  let script: string;

  before(async () => {
    script = await bundleApp();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  const color = (page: Page) => page.getAttribute('#dot', 'data-color');
  const updates = (page: Page) => page.$$eval('#updates li', (items) => items.map((li) => Number(li.textContent)));

  it('shows the connection, survives a network cut with nothing lost or doubled, and queues writes offline', async () => {
    await using herald = await startHerald();
    await using proxy = await startTcpProxy(herald.url);
    await using site = await startStaticServer({
      '/index.html': { text: '<!doctype html><div id="root"></div><script type="module" src="/app.js"></script>' },
      '/app.js': { text: script },
    });
    const reader = testClient(herald.wsUrl, { token: await herald.token({ sub: 'reader' }) });
    const saved: number[] = [];
    reader.subscribe('edits').on('edit:saved', (d: any) => saved.push(d.n));
    const page = await browser.newPage();
    try {
      const token = await herald.token({ sub: 'planner' });
      await page.goto(`${site.origin}/index.html?ws=${encodeURIComponent(`${proxy.wsUrl}/ws`)}&token=${token}`);
      await waitFor(async () => (await color(page)) === 'green', 'the green dot');
      await waitFor(() => herald.server.node.roomStats().rooms.some((r) => r.channel === 'schedules'), 'the subscription');
      await reader.whenConnected();

      const publish = (version: number) => herald.api('POST', '/api/v1/publish', { channel: 'schedules', event: 'schedule:updated', data: { version } });
      for (const v of [1, 2, 3]) await publish(v);
      await waitFor(async () => (await updates(page)).length === 3, 'three updates');

      proxy.refuse();
      proxy.cut();
      await waitFor(async () => (await color(page)) === 'yellow', 'the yellow dot');
      for (const v of [4, 5]) await publish(v);
      await page.click('#save');
      await page.click('#save');
      proxy.accept();
      await waitFor(async () => (await color(page)) === 'green', 'green again');
      await waitFor(async () => (await updates(page)).length === 5 && saved.length >= 1, 'the missed updates and the queued write');
      await publish(6);
      await waitFor(async () => (await updates(page)).length === 6, 'a live update after the cut');
      assert.deepEqual(await updates(page), [1, 2, 3, 4, 5, 6]);
      await waitFor(() => saved.length === 2, 'both writes');
      assert.deepEqual(saved, [1, 2]);
      await waitFor(async () => (await page.textContent('#save')) === 'saved 2', 'the app told of both');
    } finally {
      await page.close();
      reader.close();
    }
  });
});
