import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald } from '@herald/server/testing';
import { describeInChromium, launchChromium } from '../support/browser.js';
import { startStaticServer } from '../support/static-server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { sleep } from '../support/wait.js';

// The stock socket.io-client browser build, as an app's page would load it.
const SOCKET_IO_BUNDLE = createRequire(import.meta.url).resolve('socket.io-client/dist/socket.io.js');

// A seed 001-style page: connect with a token, join a room on `connected`, record what arrives.
const PAGE = `<!doctype html><script src="/socket.io.js"></script><script>
const q = new URLSearchParams(location.search);
const socket = io(q.get('url'), { auth: { token: q.get('token') }, transports: [q.get('transport')], reconnectionDelay: 100, reconnectionDelayMax: 200 });
window.t = { socket, got: [], connects: 0 };
socket.on('connected', () => { window.t.connects += 1; if (!socket.recovered) socket.emit('join-room', { room: 'operators' }, (a) => (window.t.joined = a.ok)); });
socket.on('call:new', (call) => window.t.got.push(call.n));
</script>`;

describeInChromium('stock socket.io-client in Chromium', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const transport of ['websocket', 'polling']) {
    // On long-polling, a cut can fall between the server writing a poll's response and the browser
    // reading it; browsers then resend the poll silently, so the server must make that a reconnect.
    it(`receives publications and recovers those missed during a cut (${transport})`, async () => {
      await using herald = await startHerald({ presence: { userEvents: false } });
      await using proxy = await startTcpProxy(herald.url);
      await using site = await startStaticServer({ '/index.html': { text: PAGE }, '/socket.io.js': { file: SOCKET_IO_BUNDLE } });
      const page: Page = await browser.newPage();
      try {
        const token = await herald.token({ sub: 'op-1' });
        await page.goto(`${site.origin}/index.html?url=${encodeURIComponent(proxy.url)}&token=${token}&transport=${transport}`);
        await page.waitForFunction('t.joined === true');
        const publish = async (n: number) => {
          const { status } = await herald.api('POST', '/api/v1/publish', { channel: 'operators', event: 'call:new', data: { n, text: 'é'.repeat(n * 100) } });
          assert.equal(status, 200);
        };
        for (const n of [1, 2, 3]) await publish(n);
        await page.waitForFunction('t.got.length === 3');
        proxy.cut();
        for (const n of [4, 5]) await publish(n);
        await page.waitForFunction('t.connects === 2');
        assert.equal(await page.evaluate('t.socket.recovered'), true);
        await publish(6);
        await page.waitForFunction('t.got.length >= 6');
        await sleep(200);
        assert.deepEqual(await page.evaluate('t.got'), [1, 2, 3, 4, 5, 6]);
      } finally {
        await page.close();
      }
    });
  }
});
