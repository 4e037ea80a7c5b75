import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { CloseCode } from '@herald/protocol';
import { connectClient, consoleSignIn, startRedisServer, type RedisServer } from '@herald/server/testing';
import { describeInChromium, launchChromium } from '../support/browser.js';
import { describeWithRedis, startCluster } from '../support/cluster.js';
import { buildConsole, CONSOLE_PASSWORD, consoleConfig, signInToConsole } from '../support/console.js';

/** The same on every node, so a session made on one is good on the others. */
const CONSOLE_SECRET = 'console-secret-shared-by-the-nodes-0123';

describeWithRedis('The web console of a two-node cluster', () => {
  describeInChromium('in Chromium', () => {
    let redis: RedisServer;
    let browser: Browser;
    let assets: string;

    before(async () => {
      assets = buildConsole();
      [redis, browser] = await Promise.all([startRedisServer(), launchChromium()]);
    });

    after(async () => {
      await Promise.all([browser?.close(), redis?.close()]);
    });

    it("shows both nodes' figures and connections on one node's console, and acts on the other node", async () => {
      await using cluster = await startCluster(redis, 2, { ...consoleConfig(assets, { secret: CONSOLE_SECRET }), presence: { userEvents: false } });
      const [a, b] = cluster.nodes;
      const ann = await connectClient(b.wsUrl, await b.token({ sub: 'ann' }));
      await ann.request({ type: 'subscribe', channel: 'news' });
      const bob = await connectClient(b.wsUrl, await b.token({ sub: 'bob' }));
      for (let i = 0; i < 3; i++) await a.api('POST', '/api/v1/publish', { channel: 'news', event: `e${i}` });
      await ann.next(() => ann.pubs('news').length === 3);

      await using admin = await signInToConsole(browser, a.url, { password: CONSOLE_PASSWORD });
      const { page } = admin;
      const bId = b.server.node.cluster.nodeId;
      await page.locator('[data-scope]', { hasText: '2 of 2 nodes answered' }).waitFor();
      await page.locator(`[data-table=nodes] tr[data-node="${bId}"] [data-node-connections]`, { hasText: '2' }).waitFor();
      // Ann and Bob on B, the console's own link on A.
      await page.locator('[data-total-connections]', { hasText: '3' }).waitFor();
      assert.ok(Number(await page.locator('[data-deliveries]').textContent()) >= 3, 'deliveries made on B are counted on A');
      assert.equal(Number(await page.locator('[data-publications]').textContent()), 3);

      await admin.go('connections');
      const annRow = page.locator('tr[data-user=ann]');
      await annRow.waitFor();
      assert.equal(await annRow.locator('td code').textContent(), bId);
      await annRow.locator('[data-action=disconnect-connection]').click();
      assert.equal((await ann.closed).code, CloseCode.DisconnectedByServer);
      await annRow.waitFor({ state: 'detached' });

      await admin.go('channels');
      await page.fill('[data-form=open] input[name=channel]', 'inbox');
      await page.click('[data-form=open] button[type=submit]');
      await bob.request({ type: 'subscribe', channel: 'inbox' });
      await page.locator('[data-detail=inbox] [data-subscribers]', { hasText: '1' }).waitFor();
      await page.fill('[data-form=publish] input[name=event]', 'notification');
      await page.fill('[data-form=publish] textarea[name=data]', '{"text":"from node A"}');
      await page.click('[data-form=publish] button[type=submit]');
      const pub = await bob.next((f) => f.type === 'pub' && f.channel === 'inbox');
      assert.deepEqual(pub.data, { text: 'from node A' });
      bob.close();
    });

    it('takes a session made on one node on the other, and lists the other node\'s locks', async () => {
      await using cluster = await startCluster(redis, 2, {
        ...consoleConfig(assets, { secret: CONSOLE_SECRET }),
        channels: { rules: [{ pattern: 'doc:*', subscribe: 'all', locks: { ttl: '1m' } }] },
      });
      const [a, b] = cluster.nodes;
      const holder = await connectClient(b.wsUrl, await b.token({ sub: 'gus' }));
      assert.equal((await holder.request({ type: 'lock', channel: 'doc:1', name: 'title' })).result.acquired, true);
      const onA = await consoleSignIn(a.url, { password: CONSOLE_PASSWORD });
      const locks = await onA.call('GET', '/api/v1/locks');
      assert.deepEqual(
        locks.body.locks.map((l: any) => [l.channel, l.name, l.userId, l.node]),
        [['doc:1', 'title', 'gus', b.server.node.cluster.nodeId]],
      );
      const onB = await fetch(`${b.url}/api/v1/connections`, { headers: { cookie: onA.cookie, 'x-herald-console': '1' } });
      assert.equal(onB.status, 200);
      assert.deepEqual(((await onB.json()) as any).connections.map((c: any) => c.userId), ['gus']);
      holder.close();
    });

    it('without a shared console.secret, a session is good only on the node that made it', async () => {
      await using cluster = await startCluster(redis, 2, consoleConfig(assets));
      const [a, b] = cluster.nodes;
      const onA = await consoleSignIn(a.url, { password: CONSOLE_PASSWORD });
      assert.equal((await onA.call('GET', '/api/v1/connections')).status, 200);
      const onB = await fetch(`${b.url}/api/v1/connections`, { headers: { cookie: onA.cookie, 'x-herald-console': '1' } });
      assert.equal(onB.status, 401);
    });
  });
});
