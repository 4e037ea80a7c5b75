import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald, TEST_API_KEY } from '../testing/herald-fixture.js';
import { connectClient } from '../testing/ws-client.js';

const config = {
  channels: {
    rules: [
      { pattern: 'city:*', subscribe: { roles: ['operator'] }, history: { size: 10, ttl: '1m' }, presence: true },
      { pattern: 'news', subscribe: 'all' as const },
    ],
  },
};

describe('HTTP channel search and info', () => {
  describe('GET /api/v1/channels', () => {
    it('finds channels with subscribers by pattern and tenant, busiest first, with their rules', async () => {
      await using herald = await startHerald(config);
      const clients = [];
      for (const [sub, tenant, channel] of [['a1', 'a', 'city:Paris'], ['a2', 'a', 'city:Paris'], ['a3', 'a', 'city:Rome'], ['a4', 'a', 'news'], ['b1', 'b', 'city:Oslo']]) {
        const c = await connectClient(herald.wsUrl, await herald.token({ sub, tenant, roles: ['operator'] }));
        await c.request({ type: 'subscribe', channel });
        clients.push(c);
      }
      const search = async (query: string) => (await herald.api('GET', `/api/v1/channels?${query}`)).body;
      const cities = await search('pattern=city:*');
      assert.deepEqual(cities.channels.map((c: any) => `${c.tenant}/${c.channel}:${c.subscribers}`), ['a/city:Paris:2', 'b/city:Oslo:1', 'a/city:Rome:1']);
      assert.deepEqual(cities.channels[0].rule, {
        pattern: 'city:*',
        subscribe: { roles: ['operator'] },
        publish: 'none',
        history: { size: 10, ttl: 60_000 },
        presence: true,
        joinLeave: false,
        maxSubscribers: 0,
        locks: false,
      });
      assert.deepEqual((await search('tenant=a&pattern=o')).channels.map((c: any) => c.channel), ['city:Rome']);
      assert.deepEqual((await search('tenant=b')).channels.map((c: any) => c.channel), ['city:Oslo']);
      assert.equal((await search('')).total, 4);
      for (const c of clients) c.close();
    });
  });

  describe('GET /api/v1/channels/:channel', () => {
    it("tells a channel's rule, subscribers, presence and history position in its tenant", async () => {
      await using herald = await startHerald(config);
      const ann = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'a', roles: ['operator'], name: 'Ann' }));
      await ann.request({ type: 'subscribe', channel: 'city:Paris' });
      await herald.api('POST', '/api/v1/publish', { tenant: 'a', channel: 'city:Paris', event: 'e' });
      const published = await herald.api('POST', '/api/v1/publish', { tenant: 'a', channel: 'city:Paris', event: 'e' });
      const { status, body } = await herald.api('GET', `/api/v1/channels/${encodeURIComponent('city:Paris')}?tenant=a`);
      assert.equal(status, 200);
      assert.equal(body.subscribers, 1);
      assert.deepEqual(body.presence, [{ userId: 'ann', connections: 1, info: { name: 'Ann' } }]);
      assert.equal(body.history.offset, published.body.offset);
      assert.equal(typeof body.history.epoch, 'string');
      assert.equal(body.rule.pattern, 'city:*');
      const elsewhere = (await herald.api('GET', `/api/v1/channels/${encodeURIComponent('city:Paris')}?tenant=b`)).body;
      assert.equal(elsewhere.subscribers, 0);
      assert.deepEqual(elsewhere.presence, []);
      const plain = (await herald.api('GET', '/api/v1/channels/news')).body;
      assert.deepEqual([plain.presence, plain.history, plain.rule.history.size], [undefined, undefined, 0]);
      const unmatched = (await herald.api('GET', '/api/v1/channels/nothing-matches')).body;
      assert.equal(unmatched.rule, null);
      assert.equal((await herald.api('GET', '/api/v1/channels/%24reserved')).status, 400);
      assert.equal((await fetch(`${herald.url}/api/v1/channels/news`)).status, 401);
      assert.equal((await fetch(`${herald.url}/api/v1/channels/news`, { headers: { authorization: `Bearer ${TEST_API_KEY}x` } })).status, 401);
      ann.close();
    });
  });
});
