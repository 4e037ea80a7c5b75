import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { describeInChromium, launchChromium } from '../support/browser.js';
import { shell, type Shell } from '../support/readme-commands.js';
import { waitFor } from '../support/wait.js';

const README = readFileSync(fileURLToPath(new URL('../../../../examples/pusher/README.md', import.meta.url)), 'utf8');
/** The README's sh blocks, `\` continuations joined. */
const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].replace(/\\\n\s*/g, '').trim());
const only = (what: string, test: (b: string) => boolean) => {
  const found = blocks.filter(test);
  assert.equal(found.length, 1, `examples/pusher/README.md has one sh block that ${what}`);
  return found[0];
};

describeInChromium('example: pusher (pusher-js in Chromium, the app and its README)', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  it('runs as the README says: the gateway, the app with its auth endpoint, pusher-js in the page, the SDK publish', async () => {
    const shells: Shell[] = [];
    try {
      // The README's ports, swapped for free ones so the test runs beside anything else.
      const gateway = shell(only('serves', (b) => b.includes('herald serve')).replace(/^PORT=6001 /, 'PORT=0 '));
      shells.push(gateway);
      const base = await waitFor(() => /Herald listening on (http:\/\/\S+)/.exec(gateway.output())?.[1], `the gateway to start:\n${gateway.output()}`, 20_000);
      const port = new URL(base).port;
      assert.match(gateway.output(), new RegExp(`Pusher\\s+ws://\\S+:${port}/app/shop-key\\?protocol=7  \\(app shop;`), 'the banner names the Pusher endpoint');
      const listing = (await (await fetch(`${base}/`)).json()) as any;
      assert.deepEqual(listing.pusher, { path: '/app', apps: [{ id: 'shop', key: 'shop-key' }], api: '/apps/{id}/events', docs: 'docs/pusher.md' });
      assert.ok(!JSON.stringify(listing).includes('shop-secret'), 'GET / shows no app secret');
      const app = shell(only('starts the app', (b) => b.includes('app/server.mjs')).replace('HERALD_PORT=6001', `HERALD_PORT=${port}`).replace('APP_PORT=3000', 'APP_PORT=0'));
      shells.push(app);
      const site = await waitFor(() => /app on (http:\/\/\S+)/.exec(app.output())?.[1], `the app to start:\n${app.output()}`, 10_000);
      const [ann, bob] = [await browser.newPage(), await browser.newPage()];
      await ann.goto(`${site}?user=Ann`);
      await waitFor(async () => (await ann.textContent('#state')) === 'connected', 'the page to connect');
      await bob.goto(`${site}?user=Bob`);
      await waitFor(async () => JSON.stringify(await ann.evaluate('window.members')) === '["Ann","Bob"]', 'both in presence-shop');
      const publish = shell(only('publishes', (b) => b.includes('publish.mjs')).replace('PORT=6001', `PORT=${port}`));
      shells.push(publish);
      assert.equal(await publish.exited, 0, publish.output());
      assert.match(publish.output(), /order 42 shipped: 200/);
      await waitFor(async () => ((await ann.textContent('#events')) ?? '').includes('order 42 shipped'), 'the order on the page');
      assert.deepEqual(await bob.evaluate('window.got'), [{ id: '42' }]);
      await bob.close();
      await waitFor(async () => JSON.stringify(await ann.evaluate('window.members')) === '["Ann"]', 'Bob gone from presence');
      await ann.close();
    } finally {
      for (const s of shells) s.stop();
    }
  });
});
