import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser, Frame, Page } from 'playwright-core';
import { startHerald } from '@herald/server/testing';
import { buildBrowserBundle, describeInChromium, launchChromium } from '../support/browser.js';
import { testClient } from '../support/herald-client.js';
import { startStaticServer, type StaticFiles } from '../support/static-server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

// Pages get their settings from the query string; everything they record goes on `window.t`.
const OUTBOX_PAGE = `<!doctype html><script type="module">
import { createHeraldClient, exponentialBackoff, indexedDbOutboxStore } from '/herald-client.browser.js';
const q = new URLSearchParams(location.search);
const store = indexedDbOutboxStore({ database: 'outbox-test' });
const client = createHeraldClient({ url: q.get('ws'), token: q.get('token'), outbox: { store }, backoff: exponentialBackoff({ initial: 50, max: 200, jitter: 0 }) });
window.t = { client, store, sent: [] };
client.on('outbox:sent', ({ item }) => window.t.sent.push(item.data));
</script>`;

const STATUS_PAGE = `<!doctype html><script type="module">
import { createHeraldClient, exponentialBackoff, indicatorColor } from '/herald-client.browser.js';
const q = new URLSearchParams(location.search);
const client = createHeraldClient({ url: q.get('ws'), token: q.get('token'), backoff: exponentialBackoff({ initial: 60000, max: 60000, jitter: 0 }) });
window.t = { client, colors: [] };
client.on('status', (state) => window.t.colors.push(state.status + ':' + indicatorColor(state)));
</script>`;

const PARENT_PAGE = `<!doctype html><body><script type="module">
import { createHeraldClient, createIframeBridge } from '/herald-client.browser.js';
const q = new URLSearchParams(location.search);
const client = createHeraldClient({ url: q.get('ws'), token: q.get('token') });
window.t = { client, received: [] };
client.subscribe('notifications').onPublication((p) => window.t.received.push(p.event));
const frame = document.createElement('iframe');
frame.src = q.get('frame');
document.body.append(frame);
const intruder = document.createElement('iframe');
intruder.src = q.get('intruder');
document.body.append(intruder);
createIframeBridge(client, { frame, origin: new URL(q.get('frame')).origin, channels: ['notifications', 'schedule'], events: ['notification:new', 'schedule:updated'], publish: ['schedule'] });
</script></body>`;

const FRAME_PAGE = `<!doctype html><script type="module">
import { createFrameClient } from '/herald-client.browser.js';
const q = new URLSearchParams(location.search);
const herald = createFrameClient({ parentOrigin: q.get('parent') });
window.t = { herald, received: [], errors: [], statuses: [] };
herald.on('status', (s) => window.t.statuses.push(s.status));
herald.subscribe('notifications').onPublication((p) => window.t.received.push(p.event + '@' + p.offset));
herald.subscribe('secret').onError((e) => window.t.errors.push(e.code));
</script>`;

describeInChromium('@herald/client in Chromium', () => {
  let browser: Browser;
  let files: StaticFiles;

  before(async () => {
    const bundle = buildBrowserBundle();
    files = {
      '/herald-client.browser.js': { file: bundle },
      '/outbox.html': { text: OUTBOX_PAGE },
      '/status.html': { text: STATUS_PAGE },
      '/parent.html': { text: PARENT_PAGE },
      '/frame.html': { text: FRAME_PAGE },
    };
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  const evaluate = <T>(target: Page | Frame, fn: string): Promise<T> => target.evaluate(fn) as Promise<T>;

  it('keeps offline publications in IndexedDB across a page reload and delivers each once', async () => {
    await using herald = await startHerald();
    await using proxy = await startTcpProxy(herald.url);
    await using site = await startStaticServer(files);
    const reader = testClient(herald.wsUrl, { token: await herald.token({ sub: 'bob' }) });
    const page = await browser.newPage();
    try {
      const seen: unknown[] = [];
      const sub = reader.subscribe('chat');
      sub.onPublication((p) => seen.push(p.data));
      await new Promise((resolve) => sub.onSubscribed(resolve));
      proxy.refuse();
      const url = `${site.origin}/outbox.html?ws=${encodeURIComponent(`${proxy.wsUrl}/ws`)}&token=${await herald.token({ sub: 'alice' })}`;
      await page.goto(url);
      await page.waitForFunction('window.t !== undefined');
      await evaluate(page, `void t.client.publish('chat', 'message', 'a'); void t.client.publish('chat', 'message', 'b')`);
      await page.waitForFunction('t.store.load().then((items) => items.length === 2)');
      await page.reload();
      await page.waitForFunction('window.t !== undefined');
      await evaluate(page, 't.client.outbox.ready');
      assert.deepEqual(await evaluate(page, 't.client.outbox.items.map((item) => item.data)'), ['a', 'b']);
      assert.notEqual(await evaluate(page, 't.client.status'), 'connected');
      proxy.accept();
      await page.waitForFunction('t.sent.length === 2');
      await waitFor(() => seen.length === 2, 'both publications at the reader');
      assert.deepEqual(seen, ['a', 'b']);
      await page.waitForFunction('t.store.load().then((items) => items.length === 0)');
    } finally {
      await page.close();
      reader.close();
    }
  });

  it('shows the indicator colour of each state, waits while the browser is offline and retries as soon as it is back', async () => {
    await using herald = await startHerald();
    await using proxy = await startTcpProxy(herald.url);
    await using site = await startStaticServer(files);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${site.origin}/status.html?ws=${encodeURIComponent(`${proxy.wsUrl}/ws`)}&token=${await herald.token({ sub: 'alice' })}`);
      await page.waitForFunction(`window.t?.client.status === 'connected'`);
      proxy.cut();
      // The next attempt is a minute away.
      await page.waitForFunction(`t.client.status === 'reconnecting' && t.client.state.retryAt > Date.now() + 30000`);
      await context.setOffline(true);
      await page.waitForFunction(`t.client.status === 'offline'`);
      await context.setOffline(false);
      await page.waitForFunction(`t.client.status === 'connected'`, undefined, { timeout: 10_000 });
      const colors = await evaluate<string[]>(page, 't.colors');
      assert.deepEqual([...new Set(colors)], ['connecting:yellow', 'connected:green', 'reconnecting:yellow', 'offline:red']);
    } finally {
      await context.close();
    }
  });

  it('forwards the chosen channels and events to an iframe on another origin, and nothing to an intruder', async () => {
    await using herald = await startHerald();
    await using portal = await startStaticServer(files);
    await using module = await startStaticServer(files);
    await using intruder = await startStaticServer(files);
    const reader = testClient(herald.wsUrl, { token: await herald.token({ sub: 'bob' }) });
    const page = await browser.newPage();
    try {
      const schedule: unknown[] = [];
      const sub = reader.subscribe('schedule');
      sub.onPublication((p) => schedule.push(p.data));
      await new Promise((resolve) => sub.onSubscribed(resolve));
      const frame = `${module.origin}/frame.html?parent=${encodeURIComponent(portal.origin)}`;
      const spy = `${intruder.origin}/frame.html?parent=${encodeURIComponent(portal.origin)}`;
      await page.goto(
        `${portal.origin}/parent.html?ws=${encodeURIComponent(`${herald.wsUrl}/ws`)}&token=${await herald.token({ sub: 'alice' })}&frame=${encodeURIComponent(frame)}&intruder=${encodeURIComponent(spy)}`,
      );
      const moduleFrame = await waitFor(() => page.frames().find((f) => f.url().startsWith(module.origin)), 'the module iframe');
      const intruderFrame = await waitFor(() => page.frames().find((f) => f.url().startsWith(intruder.origin)), 'the intruder iframe');
      await moduleFrame.waitForFunction(`window.t?.herald.subscribe('notifications').status === 'subscribed'`);
      await moduleFrame.waitForFunction(`t.errors.length === 1`);
      assert.deepEqual(await evaluate(moduleFrame, 't.errors'), ['forbidden']);
      assert.equal(await evaluate(moduleFrame, 't.herald.status'), 'connected');

      for (const event of ['notification:new', 'notification:internal', 'notification:new']) {
        await herald.api('POST', '/api/v1/publish', { channel: 'notifications', event, data: { title: event } });
      }
      await herald.api('POST', '/api/v1/publish', { channel: 'secret', event: 'notification:new', data: {} });
      await page.waitForFunction('t.received.length === 3');
      await moduleFrame.waitForFunction('t.received.length === 2');
      assert.deepEqual(await evaluate(moduleFrame, 't.received'), ['notification:new@1', 'notification:new@3']);

      // The iframe publishes through the parent's connection, to the channels it was allowed.
      const published = await evaluate<{ offset: number }>(moduleFrame, `t.herald.publish('schedule', 'schedule:updated', { employee: 7 })`);
      assert.equal(published.offset, 1);
      await waitFor(() => schedule.length === 1, 'the iframe publication at the reader');
      assert.deepEqual(schedule, [{ employee: 7 }]);
      const refused = await evaluate<string>(moduleFrame, `t.herald.publish('notifications', 'notification:new', {}).then(() => 'sent', (e) => e.code)`);
      assert.equal(refused, 'forbidden');

      // Same page, same messages, wrong origin: the bridge never answers it.
      assert.deepEqual(await evaluate(intruderFrame, 't.received'), []);
      assert.deepEqual(await evaluate(intruderFrame, 't.statuses'), []);
      assert.equal(await evaluate(intruderFrame, 't.herald.status'), 'connecting');
    } finally {
      await page.close();
      reader.close();
    }
  });
});
