import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newPublicationId } from '../core/ids.js';
import { startHerald, TEST_API_KEY } from '../testing/herald-fixture.js';
import { connectClient, type TestClient } from '../testing/ws-client.js';

const TENANT_A_KEY = 'tenant-a-key-0123456789';
const tenantKeys = { api: { keys: [{ key: TEST_API_KEY, name: 'test' }, { key: TENANT_A_KEY, name: 'a-only', tenant: 'a' }] } };

/** A POST with full control over headers and body (no API key unless given). */
async function post(url: string, body: string | Uint8Array, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as any };
}

async function subscribed(wsUrl: string, token: string, channel: string): Promise<TestClient> {
  const client = await connectClient(wsUrl, token);
  const reply = await client.request({ type: 'subscribe', channel });
  assert.equal(reply.error, undefined, JSON.stringify(reply));
  return client;
}

describe('HTTP publish', () => {
  describe('auth', () => {
    it('answers 401 without a key and with a wrong one', async () => {
      await using herald = await startHerald();
      const body = JSON.stringify({ channel: 'news', event: 'e' });
      const missing = await post(`${herald.url}/api/v1/publish`, body, { 'content-type': 'application/json' });
      assert.equal(missing.status, 401);
      assert.equal(missing.body.error.code, 'unauthorized');
      const wrong = await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'e' }, { authorization: 'Bearer not-the-key-at-all' });
      assert.equal(wrong.status, 401);
      assert.match(wrong.body.error.message, /invalid API key/);
      const wrongInBody = await post(`${herald.url}/api/v1/publish`, JSON.stringify({ channel: 'news', event: 'e', token: 'nope-nope-nope' }), { 'content-type': 'application/json' });
      assert.equal(wrongInBody.status, 401);
    });

    it("accepts the key as the body's token, as seed 001 sends it", async () => {
      await using herald = await startHerald();
      const client = await subscribed(herald.wsUrl, await herald.token({ sub: 'op' }), 'operators');
      const res = await post(`${herald.url}/api/v1/publish`, JSON.stringify({ token: TEST_API_KEY, channel: 'operators', event: 'call:new', data: { id: 7 } }), {
        'content-type': 'application/json',
      });
      assert.equal(res.status, 200);
      const pub = await client.next((f) => f.type === 'pub' && f.event === 'call:new');
      assert.deepEqual(pub.data, { id: 7 });
      client.close();
    });

    it('answers 403 when a tenant-bound key publishes to another tenant', async () => {
      await using herald = await startHerald(tenantKeys);
      const auth = { authorization: `Bearer ${TENANT_A_KEY}` };
      const other = await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'e', tenant: 'b' }, auth);
      assert.equal(other.status, 403);
      assert.equal(other.body.error.code, 'forbidden');
      const own = await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'e', tenant: 'a' }, auth);
      assert.equal(own.status, 200);
    });

    it('publishes a tenant-bound key without tenant into its own tenant', async () => {
      await using herald = await startHerald(tenantKeys);
      const a = await subscribed(herald.wsUrl, await herald.token({ sub: 'u', tenant: 'a' }), 'news');
      const res = await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'mine' }, { authorization: `Bearer ${TENANT_A_KEY}` });
      assert.equal(res.status, 200);
      await a.next((f) => f.type === 'pub' && f.event === 'mine');
      a.close();
    });
  });

  describe('tenant isolation', () => {
    it('never delivers a publication of tenant A to a subscriber of the same channel in tenant B', async () => {
      await using herald = await startHerald();
      const a = await subscribed(herald.wsUrl, await herald.token({ sub: 'alice', tenant: 'a' }), 'news');
      const b = await subscribed(herald.wsUrl, await herald.token({ sub: 'bob', tenant: 'b' }), 'news');
      const toA = await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'for-a', tenant: 'a' });
      assert.equal(toA.status, 200);
      // B's own publication arrives after A's would have: if A's had leaked, B would hold it by then.
      await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'for-b', tenant: 'b' });
      await b.next((f) => f.type === 'pub' && f.event === 'for-b');
      await a.next((f) => f.type === 'pub' && f.event === 'for-a');
      assert.deepEqual(b.pubs('news').map((p) => p.event), ['for-b']);
      assert.deepEqual(a.pubs('news').map((p) => p.event), ['for-a']);
      a.close();
      b.close();
    });

    it("refuses a tenant name that could reach into another tenant's keys", async () => {
      await using herald = await startHerald();
      const res = await herald.api('POST', '/api/v1/publish', { channel: 'c', event: 'e', tenant: 'a:b' });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.field, 'tenant');
    });
  });

  describe('tenants.requireClaim', () => {
    const requireClaim = { tenants: { requireClaim: true } };

    it('answers 400 naming tenant for a publish without one, and delivers nothing to the default tenant', async () => {
      await using herald = await startHerald(requireClaim);
      const inDefault = await subscribed(herald.wsUrl, await herald.token({ sub: 'd', tenant: 'default' }), 'news');
      const res = await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'lost' });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'bad_request');
      assert.equal(res.body.error.field, 'tenant');
      assert.match(res.body.error.message, /tenant is required.*requireClaim/);
      // The publish that names its tenant goes through; nothing reached the default tenant.
      assert.equal((await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'named', tenant: 'default' })).status, 200);
      await inDefault.next((f) => f.type === 'pub' && f.event === 'named');
      assert.deepEqual(inDefault.pubs('news').map((p) => p.event), ['named']);
      inDefault.close();
    });

    it('refuses a batch item without a tenant and publishes the items that name one', async () => {
      await using herald = await startHerald(requireClaim);
      const res = await herald.api('POST', '/api/v1/publish/batch', { publications: [{ channel: 'news', event: 'a' }, { channel: 'news', event: 'b', tenant: 'acme' }] });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.results[0].error.code, 'bad_request');
      assert.equal(res.body.results[0].error.field, 'tenant');
      assert.equal(typeof res.body.results[1].id, 'string');
      const whole = await herald.api('POST', '/api/v1/publish/batch', { tenant: 'acme', publications: [{ channel: 'news', event: 'c' }] });
      assert.equal(typeof whole.body.results[0].id, 'string', JSON.stringify(whole.body));
    });
  });

  describe('bad bodies', () => {
    const cases: [string, unknown, string][] = [
      ['missing event', { channel: 'news' }, 'event'],
      ['both channel and channels', { channel: 'news', channels: ['a'], event: 'e' }, 'channel'],
      ['neither channel nor channels', { event: 'e' }, 'channel'],
      ['an unknown field', { channel: 'news', event: 'e', colour: 'red' }, 'colour'],
      ['a channel with a control character', { channel: 'news\nfeed', event: 'e' }, 'channel'],
      ['a channel longer than 255', { channel: 'x'.repeat(256), event: 'e' }, 'channel'],
      ['an empty channel', { channel: '', event: 'e' }, 'channel'],
      ['a reserved $ channel', { channel: '$tenant', event: 'e' }, 'channel'],
      ['a bad channel among channels', { channels: ['ok', 'bad\u0007'], event: 'e' }, 'channels.1'],
      ['an event with a control character', { channel: 'news', event: 'a\rb' }, 'event'],
      ['an empty audience', { channel: 'news', event: 'e', audience: {} }, 'audience'],
      ['a non-string event', { channel: 'news', event: 42 }, 'event'],
      ['an array body', [1, 2], 'body'],
    ];
    for (const [name, body, field] of cases) {
      it(`answers 400 naming ${field} for ${name}`, async () => {
        await using herald = await startHerald();
        const res = await herald.api('POST', '/api/v1/publish', body);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, 'bad_request');
        assert.equal(res.body.error.field, field, JSON.stringify(res.body));
      });
    }

    it('answers 400 for a body that is not JSON', async () => {
      await using herald = await startHerald();
      const res = await herald.api('POST', '/api/v1/publish', '{"channel": "news", ');
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'bad_request');
      assert.match(res.body.error.message, /JSON/);
    });

    it('answers 415 for a body that is not application/json', async () => {
      await using herald = await startHerald();
      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        const res = await post(`${herald.url}/api/v1/publish`, 'channel=news&event=e', { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': type });
        assert.equal(res.status, 415, type);
        assert.equal(res.body.error.code, 'bad_request');
      }
    });

    it('answers 413 for a body over server.bodyLimit', async () => {
      await using herald = await startHerald({ server: { bodyLimit: 1024 } });
      const res = await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'e', data: 'x'.repeat(2000) });
      assert.equal(res.status, 413);
      assert.equal(res.body.error.code, 'bad_request');
    });
  });

  describe('the answer', () => {
    it('is the JSON of {id, offset, duplicate} for one channel, as application/json', async () => {
      await using herald = await startHerald();
      const response = await fetch(`${herald.url}/api/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'news', event: 'e', data: { n: 1 } }),
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
      const text = await response.text();
      const body = JSON.parse(text);
      assert.match(body.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      assert.equal(text, JSON.stringify({ id: body.id, offset: 1, duplicate: false }));
    });
  });

  describe('idempotencyKey', () => {
    it('returns the first id with duplicate: true, and delivers once', async () => {
      await using herald = await startHerald();
      const client = await subscribed(herald.wsUrl, await herald.token({ sub: 'alice' }), 'orders');
      const body = { channel: 'orders', event: 'order:new', data: { n: 1 }, idempotencyKey: 'order-1' };
      const first = await herald.api('POST', '/api/v1/publish', body);
      const second = await herald.api('POST', '/api/v1/publish', body);
      assert.equal(first.status, 200);
      assert.equal(first.body.duplicate, false);
      assert.deepEqual(second.body, { id: first.body.id, offset: first.body.offset, duplicate: true });
      await herald.api('POST', '/api/v1/publish', { channel: 'orders', event: 'marker' });
      await client.next((f) => f.type === 'pub' && f.event === 'marker');
      assert.equal(client.pubs('orders').filter((p) => p.id === first.body.id).length, 1);
      client.close();
    });
    it('keeps one id on every channel when a retry finds the publish stored on some of them only', async () => {
      await using herald = await startHerald();
      const { broker } = herald.engine;
      const options = { history: herald.server.node.historyOptions('a'), idempotency: { key: 'order-7', ttlMs: 60_000 } };
      // The first attempt reserved its id and stored the publication on `a`, then its node died.
      const id = await broker.reserveId('default', 'order-7', newPublicationId(), 60_000);
      await broker.publish('default:a', { id, channel: 'a', event: 'order:new', data: { n: 7 }, ts: Date.now() }, options);
      const retry = await herald.api('POST', '/api/v1/publish', { channels: ['a', 'b'], event: 'order:new', data: { n: 7 }, idempotencyKey: 'order-7' });
      assert.equal(retry.status, 200);
      assert.deepEqual(retry.body, { id, offsets: { a: 1, b: 1 }, duplicate: false });
      for (const channel of ['a', 'b']) {
        const history = await herald.api('GET', `/api/v1/channels/${channel}/history`);
        assert.deepEqual(history.body.publications.map((p: { id: string }) => p.id), [id], channel);
      }
    });
  });

  describe('audience', () => {
    it('delivers only to subscribers with a listed role or user id', async () => {
      await using herald = await startHerald();
      const director = await subscribed(herald.wsUrl, await herald.token({ sub: 'd1', roles: ['director'] }), 'orders');
      const operator = await subscribed(herald.wsUrl, await herald.token({ sub: 'o1', roles: ['operator'] }), 'orders');
      const named = await subscribed(herald.wsUrl, await herald.token({ sub: 'o2', roles: ['operator'] }), 'orders');
      await herald.api('POST', '/api/v1/publish', { channel: 'orders', event: 'secret', audience: { roles: ['director'], users: ['o2'] } });
      await herald.api('POST', '/api/v1/publish', { channel: 'orders', event: 'marker' });
      for (const c of [director, operator, named]) await c.next((f) => f.type === 'pub' && f.event === 'marker');
      assert.deepEqual(director.pubs('orders').map((p) => p.event), ['secret', 'marker']);
      assert.deepEqual(named.pubs('orders').map((p) => p.event), ['secret', 'marker']);
      assert.deepEqual(operator.pubs('orders').map((p) => p.event), ['marker']);
      for (const c of [director, operator, named]) c.close();
    });
  });

  describe('multi-channel', () => {
    it('publishes one id with an offset per channel', async () => {
      await using herald = await startHerald();
      await herald.api('POST', '/api/v1/publish', { channel: 'b', event: 'warm-up' });
      const client = await subscribed(herald.wsUrl, await herald.token({ sub: 'alice' }), 'a');
      await client.request({ type: 'subscribe', channel: 'b' });
      const res = await herald.api('POST', '/api/v1/publish', { channels: ['a', 'b'], event: 'both' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.offsets, { a: 1, b: 2 });
      assert.equal(res.body.duplicate, false);
      const onA = await client.next((f) => f.type === 'pub' && f.channel === 'a' && f.event === 'both');
      const onB = await client.next((f) => f.type === 'pub' && f.channel === 'b' && f.event === 'both');
      assert.equal(onA.id, res.body.id);
      assert.equal(onB.id, res.body.id);
      client.close();
    });

    it('publishes to city:Саратов', async () => {
      await using herald = await startHerald();
      const client = await subscribed(herald.wsUrl, await herald.token({ sub: 'alice' }), 'city:Саратов');
      const res = await herald.api('POST', '/api/v1/publish', { channel: 'city:Саратов', event: 'order:new' });
      assert.equal(res.status, 200);
      await client.next((f) => f.type === 'pub' && f.channel === 'city:Саратов');
      client.close();
    });
  });

  describe('batch', () => {
    it('publishes good items in order and answers bad ones per item', async () => {
      await using herald = await startHerald(tenantKeys);
      const client = await subscribed(herald.wsUrl, await herald.token({ sub: 'alice', tenant: 'a' }), 'feed');
      const res = await herald.api(
        'POST',
        '/api/v1/publish/batch',
        {
          tenant: 'a',
          publications: [
            { channel: 'feed', event: 'one' },
            { channel: 'feed' },
            { channel: 'bad\u0000', event: 'x' },
            { channels: ['feed', 'other'], event: 'two' },
            { channel: 'feed', event: 'three', unknown: true },
            { channel: 'feed', event: 'four', tenant: 'b' },
          ],
        },
        { authorization: `Bearer ${TENANT_A_KEY}` },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const [one, missing, control, two, unknown, otherTenant] = res.body.results;
      assert.equal(one.offset, 1);
      assert.equal(missing.error.field, 'event');
      assert.equal(control.error.field, 'channel');
      assert.deepEqual(two.offsets, { feed: 2, other: 1 });
      assert.equal(unknown.error.field, 'unknown');
      assert.equal(otherTenant.error.code, 'forbidden');
      await client.next((f) => f.type === 'pub' && f.event === 'two');
      assert.deepEqual(client.pubs('feed').map((p) => [p.event, p.offset]), [['one', 1], ['two', 2]]);
      client.close();
    });

    it('answers 400 for a batch without publications', async () => {
      await using herald = await startHerald();
      for (const body of [{}, { publications: [] }, { publications: 'x' }]) {
        const res = await herald.api('POST', '/api/v1/publish/batch', body);
        assert.equal(res.status, 400);
        assert.equal(res.body.error.field, 'publications');
      }
    });

    it('refuses a whole batch whose tenant is not the key’s', async () => {
      await using herald = await startHerald(tenantKeys);
      const res = await herald.api('POST', '/api/v1/publish/batch', { tenant: 'b', publications: [{ channel: 'c', event: 'e' }] }, { authorization: `Bearer ${TENANT_A_KEY}` });
      assert.equal(res.status, 403);
    });
  });
});
