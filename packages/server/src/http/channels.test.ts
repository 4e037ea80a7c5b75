import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeraldConfigInput } from '../config/schema.js';
import { startHerald, TEST_API_KEY, type HeraldFixture } from '../testing/herald-fixture.js';
import { connectClient } from '../testing/ws-client.js';

const TENANT_A_KEY = 'tenant-a-key-0123456789';

const config: HeraldConfigInput = {
  api: { keys: [{ key: TEST_API_KEY, name: 'test' }, { key: TENANT_A_KEY, tenant: 'a' }] },
  channels: {
    rules: [
      { pattern: 'bare:*', subscribe: 'all', history: { size: 0 }, presence: false },
      { pattern: 'short:*', subscribe: 'all', history: { size: 2, ttl: '5m' } },
      { pattern: '*', subscribe: 'all', publish: 'all', history: { size: 100, ttl: '5m' }, presence: true },
    ],
  },
};

const historyPath = (channel: string, query = '') => `/api/v1/channels/${encodeURIComponent(channel)}/history${query}`;
const presencePath = (channel: string, query = '') => `/api/v1/channels/${encodeURIComponent(channel)}/presence${query}`;

async function publishMany(herald: HeraldFixture, channel: string, events: string[], extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (const event of events) {
    const res = await herald.api('POST', '/api/v1/publish', { channel, event, ...extra });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    ids.push(res.body.id);
  }
  return ids;
}

describe('HTTP channels', () => {
  describe('GET /api/v1/channels/:channel/history', () => {
    it('returns the kept publications with the stream position', async () => {
      await using herald = await startHerald(config);
      const ids = await publishMany(herald, 'city:Саратов', ['a', 'b', 'c']);
      const res = await herald.api('GET', historyPath('city:Саратов'));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.channel, 'city:Саратов');
      assert.equal(res.body.offset, 3);
      assert.equal(typeof res.body.epoch, 'string');
      assert.equal(res.body.recovery, undefined);
      assert.deepEqual(res.body.publications.map((p: any) => [p.id, p.event, p.offset, p.epoch]), [
        [ids[0], 'a', 1, res.body.epoch],
        [ids[1], 'b', 2, res.body.epoch],
        [ids[2], 'c', 3, res.body.epoch],
      ]);
    });

    it('limits to the newest ones', async () => {
      await using herald = await startHerald(config);
      await publishMany(herald, 'news', ['a', 'b', 'c']);
      const res = await herald.api('GET', historyPath('news', '?limit=2'));
      assert.deepEqual(res.body.publications.map((p: any) => p.event), ['b', 'c']);
    });

    it('answers an empty stream for a channel never published to', async () => {
      await using herald = await startHerald(config);
      const res = await herald.api('GET', historyPath('quiet'));
      assert.equal(res.status, 200);
      assert.equal(res.body.offset, 0);
      assert.deepEqual(res.body.publications, []);
    });

    it('returns what came after an offset and epoch, with the recovery result', async () => {
      await using herald = await startHerald(config);
      await publishMany(herald, 'news', ['a', 'b', 'c']);
      const { epoch } = (await herald.api('GET', historyPath('news'))).body;
      const res = await herald.api('GET', historyPath('news', `?offset=1&epoch=${encodeURIComponent(epoch)}`));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.publications.map((p: any) => p.event), ['b', 'c']);
      assert.deepEqual(res.body.recovery, { recovered: true, replayed: 2 });
      const upToDate = await herald.api('GET', historyPath('news', `?offset=3&epoch=${encodeURIComponent(epoch)}`));
      assert.deepEqual(upToDate.body.publications, []);
      assert.deepEqual(upToDate.body.recovery, { recovered: true, replayed: 0 });
    });

    it('pages what came after a position with limit', async () => {
      await using herald = await startHerald(config);
      await publishMany(herald, 'news', ['a', 'b', 'c', 'd']);
      const { epoch } = (await herald.api('GET', historyPath('news'))).body;
      const res = await herald.api('GET', historyPath('news', `?offset=1&epoch=${encodeURIComponent(epoch)}&limit=2`));
      assert.deepEqual(res.body.publications.map((p: any) => p.event), ['b', 'c']);
      assert.equal(res.body.recovery.recovered, true);
    });

    it('says plainly when it cannot recover', async () => {
      await using herald = await startHerald(config);
      await publishMany(herald, 'short:x', ['a', 'b', 'c', 'd', 'e']);
      const { epoch } = (await herald.api('GET', historyPath('short:x'))).body;
      const trimmed = await herald.api('GET', historyPath('short:x', `?offset=1&epoch=${encodeURIComponent(epoch)}`));
      assert.deepEqual(trimmed.body.recovery, { recovered: false, reason: 'history_trimmed', replayed: 2, missing: { from: 2, to: 3 } });
      assert.deepEqual(trimmed.body.publications.map((p: any) => p.offset), [4, 5]);
      const otherEpoch = await herald.api('GET', historyPath('short:x', '?offset=1&epoch=not-this-one'));
      assert.equal(otherEpoch.body.recovery.reason, 'epoch_changed');
      const ahead = await herald.api('GET', historyPath('short:x', `?offset=99&epoch=${encodeURIComponent(epoch)}`));
      assert.equal(ahead.body.recovery.reason, 'offset_ahead');
    });

    it('returns what came after a last id', async () => {
      await using herald = await startHerald(config);
      const ids = await publishMany(herald, 'news', ['a', 'b', 'c']);
      const res = await herald.api('GET', historyPath('news', `?lastId=${ids[0]}`));
      assert.deepEqual(res.body.publications.map((p: any) => p.id), ids.slice(1));
      assert.deepEqual(res.body.recovery, { recovered: true, replayed: 2 });
      const unknown = await herald.api('GET', historyPath('news', '?lastId=01ZZZZZZZZZZZZZZZZZZZZZZZZ'));
      assert.deepEqual(unknown.body.publications, []);
      assert.equal(unknown.body.recovery.recovered, false);
      assert.equal(unknown.body.recovery.reason, 'unknown_id');
    });

    it('shows the API every publication, whatever its audience', async () => {
      await using herald = await startHerald(config);
      await publishMany(herald, 'news', ['secret'], { audience: { roles: ['admin'] } });
      const res = await herald.api('GET', historyPath('news'));
      assert.deepEqual(res.body.publications.map((p: any) => p.event), ['secret']);
      assert.equal(res.body.publications[0].audience, undefined);
    });

    it('keeps tenants apart', async () => {
      await using herald = await startHerald(config);
      await publishMany(herald, 'news', ['for-a'], { tenant: 'a' });
      const b = await herald.api('GET', historyPath('news', '?tenant=b'));
      assert.deepEqual(b.body.publications, []);
      const a = await herald.api('GET', historyPath('news'), undefined, { authorization: `Bearer ${TENANT_A_KEY}` });
      assert.deepEqual(a.body.publications.map((p: any) => p.event), ['for-a']);
      const forbidden = await herald.api('GET', historyPath('news', '?tenant=b'), undefined, { authorization: `Bearer ${TENANT_A_KEY}` });
      assert.equal(forbidden.status, 403);
    });

    it('decodes channel names with reserved characters', async () => {
      await using herald = await startHerald(config);
      await publishMany(herald, 'files/a b?c#d%e', ['x']);
      const res = await herald.api('GET', historyPath('files/a b?c#d%e'));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.channel, 'files/a b?c#d%e');
      assert.equal(res.body.publications.length, 1);
    });

    const badRequests: [string, string, string][] = [
      ['a channel with a control character', historyPath('news\nfeed'), 'channel'],
      ['a channel longer than 255', historyPath('x'.repeat(256)), 'channel'],
      ['a very long channel', historyPath('я'.repeat(2000)), 'channel'],
      ['a reserved $ channel', historyPath('$tenant'), 'channel'],
      ['a channel without history', historyPath('bare:x'), 'channel'],
      ['an offset without epoch', historyPath('news', '?offset=1'), 'epoch'],
      ['lastId with an offset', historyPath('news', '?offset=1&epoch=e&lastId=x'), 'lastId'],
      ['a zero limit', historyPath('news', '?limit=0'), 'limit'],
      ['a limit that is not a number', historyPath('news', '?limit=ten'), 'limit'],
      ['a negative offset', historyPath('news', '?offset=-1&epoch=e'), 'offset'],
      ['an unknown query parameter', historyPath('news', '?since=1'), 'since'],
      ['a bad tenant', historyPath('news', '?tenant=a%3Ab'), 'tenant'],
    ];
    for (const [name, path, field] of badRequests) {
      it(`answers 400 naming ${field} for ${name}`, async () => {
        await using herald = await startHerald(config);
        const res = await herald.api('GET', path);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, 'bad_request');
        assert.equal(res.body.error.field, field, JSON.stringify(res.body));
      });
    }

    it('answers 401 without a key', async () => {
      await using herald = await startHerald(config);
      const res = await fetch(herald.url + historyPath('news'));
      assert.equal(res.status, 401);
    });
  });

  describe('GET /api/v1/channels/:channel/presence', () => {
    it('lists users with their connection counts and info', async () => {
      await using herald = await startHerald(config);
      const channel = 'city:Саратов';
      const clients = [
        await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', name: 'Alice' })),
        await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', name: 'Alice' })),
        await connectClient(herald.wsUrl, await herald.token({ sub: 'bob', name: 'Bob' })),
      ];
      for (const c of clients) await c.request({ type: 'subscribe', channel });
      const res = await herald.api('GET', presencePath(channel));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.channel, channel);
      const users = [...res.body.users].sort((x: any, y: any) => x.userId.localeCompare(y.userId));
      assert.deepEqual(users, [
        { userId: 'alice', connections: 2, info: { name: 'Alice' } },
        { userId: 'bob', connections: 1, info: { name: 'Bob' } },
      ]);
      clients[2].close();
      await clients[2].closed;
      await waitFor(async () => (await herald.api('GET', presencePath(channel))).body.users.length === 1);
      for (const c of clients) c.close();
    });

    it('keeps tenants apart', async () => {
      await using herald = await startHerald(config);
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', tenant: 'a' }));
      await client.request({ type: 'subscribe', channel: 'room' });
      const inA = await herald.api('GET', presencePath('room', '?tenant=a'));
      assert.equal(inA.body.users.length, 1);
      const inDefault = await herald.api('GET', presencePath('room'));
      assert.deepEqual(inDefault.body.users, []);
      const forbidden = await herald.api('GET', presencePath('room', '?tenant=default'), undefined, { authorization: `Bearer ${TENANT_A_KEY}` });
      assert.equal(forbidden.status, 403);
      client.close();
    });

    it('answers 400 for a channel without presence or with a bad name', async () => {
      await using herald = await startHerald(config);
      for (const path of [presencePath('bare:x'), presencePath('bad\u0001'), presencePath('room', '?limit=1')]) {
        const res = await herald.api('GET', path);
        assert.equal(res.status, 400, path);
        assert.ok(res.body.error.field, JSON.stringify(res.body));
      }
    });

    it('answers 401 without a key', async () => {
      await using herald = await startHerald(config);
      assert.equal((await fetch(herald.url + presencePath('room'))).status, 401);
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
