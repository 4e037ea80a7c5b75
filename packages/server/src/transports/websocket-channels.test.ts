import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '@herald/protocol';
import type { HeraldConfigInput } from '../config/schema.js';
import { startHerald } from '../testing/herald-fixture.js';
import { connectClient, type TestClient } from '../testing/ws-client.js';

// Seed 001's rooms.
const CRM: HeraldConfigInput = {
  channels: {
    rules: [
      { pattern: 'operators', subscribe: { roles: ['operator', 'director'] }, publish: { roles: ['director'] } },
      { pattern: 'city:*', subscribe: 'all' },
      { pattern: 'operator:{userId}', subscribe: 'owner', publish: 'owner' },
      { pattern: 'order:{id}', subscribe: { roles: ['operator'] }, eventRoles: { 'order:price': ['director'] } },
      { pattern: 'deals', subscribe: { roles: ['director', 'operator'] }, eventRoles: { 'deal:margin': ['director'] } },
    ],
  },
};

async function subscribeError(client: TestClient, channel: string): Promise<string | undefined> {
  const reply = await client.request({ type: 'subscribe', channel });
  return reply.error?.code;
}

describe('WebSocketTransport channel rules', () => {
  describe('#subscribe', () => {
    it('allows a literal channel by role only', async () => {
      await using herald = await startHerald(CRM);
      const operator = await connectClient(herald.wsUrl, await herald.token({ sub: 'o1', roles: ['operator'] }));
      const viewer = await connectClient(herald.wsUrl, await herald.token({ sub: 'v1', roles: ['viewer'] }));
      assert.equal(await subscribeError(operator, 'operators'), undefined);
      const denied = await viewer.request({ type: 'subscribe', channel: 'operators' });
      assert.equal(denied.error.code, ErrorCode.Forbidden);
      assert.match(denied.error.message, /operators/);
      operator.close();
      viewer.close();
    });

    it('allows a wildcard channel (city:*) to anyone, with any rest', async () => {
      await using herald = await startHerald(CRM);
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      assert.equal(await subscribeError(client, 'city:Саратов'), undefined);
      assert.equal(await subscribeError(client, 'city:a:b'), undefined);
      client.close();
    });

    it('allows a placeholder channel (order:{id}) by role, one segment only', async () => {
      await using herald = await startHerald(CRM);
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'o1', roles: ['operator'] }));
      assert.equal(await subscribeError(client, 'order:42'), undefined);
      assert.equal(await subscribeError(client, 'order:4:2'), ErrorCode.Forbidden, 'no rule matches two segments');
      client.close();
    });

    it("allows a personal channel to its owner and refuses another user's", async () => {
      await using herald = await startHerald(CRM);
      const owner = await connectClient(herald.wsUrl, await herald.token({ sub: '17' }));
      const other = await connectClient(herald.wsUrl, await herald.token({ sub: '18', roles: ['director'] }));
      assert.equal(await subscribeError(owner, 'operator:17'), undefined);
      assert.equal(await subscribeError(other, 'operator:17'), ErrorCode.Forbidden);
      // Nothing published to it reaches the refused user.
      await herald.api('POST', '/api/v1/publish', { channel: 'operator:17', event: 'call:incoming', data: { n: 1 } });
      await owner.next((f) => f.type === 'pub' && f.channel === 'operator:17');
      assert.equal(other.pubs('operator:17').length, 0);
      owner.close();
      other.close();
    });

    it('allows channels listed in the token', async () => {
      await using herald = await startHerald(CRM);
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1', channels: ['operators', 'private:u1', 'order:*'] }));
      assert.equal(await subscribeError(client, 'operators'), undefined);
      assert.equal(await subscribeError(client, 'private:u1'), undefined, 'even one that no rule matches');
      assert.equal(await subscribeError(client, 'order:7'), undefined);
      assert.equal(await subscribeError(client, 'private:u2'), ErrorCode.Forbidden);
      client.close();
    });

    it('denies a channel no rule matches by default', async () => {
      await using herald = await startHerald(CRM);
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1', roles: ['director'] }));
      assert.equal(await subscribeError(client, 'elsewhere'), ErrorCode.Forbidden);
      client.close();
    });

    it('allows unmatched channels with channels.unmatched: allow', async () => {
      await using herald = await startHerald({ channels: { ...CRM.channels, unmatched: 'allow' } });
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      assert.equal(await subscribeError(client, 'elsewhere'), undefined);
      assert.equal(await subscribeError(client, 'operators'), ErrorCode.Forbidden, 'matched rules still apply');
      const publish = await client.request({ type: 'publish', channel: 'elsewhere', event: 'x' });
      assert.equal(publish.error.code, ErrorCode.Forbidden, 'unmatched channels are not publishable from clients');
      client.close();
    });
  });

  describe('#publish from a client', () => {
    it('is allowed or refused by the rule', async () => {
      await using herald = await startHerald(CRM);
      const director = await connectClient(herald.wsUrl, await herald.token({ sub: 'd1', roles: ['director'] }));
      const operator = await connectClient(herald.wsUrl, await herald.token({ sub: 'o1', roles: ['operator'] }));
      await operator.request({ type: 'subscribe', channel: 'operators' });
      const ok = await director.request({ type: 'publish', channel: 'operators', event: 'shift:start', data: { at: 9 } });
      assert.equal(typeof ok.result.id, 'string');
      assert.equal(ok.result.offset, 1);
      const pub = await operator.next((f) => f.type === 'pub' && f.channel === 'operators');
      assert.deepEqual([pub.id, pub.event, pub.data], [ok.result.id, 'shift:start', { at: 9 }]);
      const refused = await operator.request({ type: 'publish', channel: 'operators', event: 'shift:start' });
      assert.equal(refused.error.code, ErrorCode.Forbidden);
      const defaultNone = await director.request({ type: 'publish', channel: 'city:x', event: 'e' });
      assert.equal(defaultNone.error.code, ErrorCode.Forbidden, 'publish defaults to none');
      director.close();
      operator.close();
    });

    it('lets the owner publish to a personal channel and no one else', async () => {
      await using herald = await startHerald(CRM);
      const owner = await connectClient(herald.wsUrl, await herald.token({ sub: '5' }));
      const other = await connectClient(herald.wsUrl, await herald.token({ sub: '6' }));
      assert.ok((await owner.request({ type: 'publish', channel: 'operator:5', event: 'note' })).result);
      assert.equal((await other.request({ type: 'publish', channel: 'operator:5', event: 'note' })).error.code, ErrorCode.Forbidden);
      owner.close();
      other.close();
    });

    it('deduplicates a retried publish with the same idempotency key', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      await client.request({ type: 'subscribe', channel: 'room' });
      const first = await client.request({ type: 'publish', channel: 'room', event: 'e', idempotencyKey: 'k1' });
      const retry = await client.request({ type: 'publish', channel: 'room', event: 'e', idempotencyKey: 'k1' });
      assert.deepEqual(retry.result, first.result);
      const mark = await client.request({ type: 'publish', channel: 'room', event: 'mark' });
      await client.next((f) => f.type === 'pub' && f.id === mark.result.id);
      assert.equal(client.pubs('room').length, 2);
      client.close();
    });
  });

  describe('eventRoles', () => {
    it('delivers a restricted event only to its roles, and other events to all subscribers', async () => {
      await using herald = await startHerald(CRM);
      const director = await connectClient(herald.wsUrl, await herald.token({ sub: 'd1', roles: ['director'] }));
      const operator = await connectClient(herald.wsUrl, await herald.token({ sub: 'o1', roles: ['operator'] }));
      await director.request({ type: 'subscribe', channel: 'deals' });
      await operator.request({ type: 'subscribe', channel: 'deals' });
      await herald.api('POST', '/api/v1/publish', { channel: 'deals', event: 'deal:margin', data: 30 });
      await herald.api('POST', '/api/v1/publish', { channel: 'deals', event: 'deal:closed', data: 1 });
      await director.next((f) => f.type === 'pub' && f.event === 'deal:closed');
      await operator.next((f) => f.type === 'pub' && f.event === 'deal:closed');
      assert.deepEqual(director.pubs('deals').map((p) => p.event), ['deal:margin', 'deal:closed']);
      assert.deepEqual(operator.pubs('deals').map((p) => p.event), ['deal:closed']);
      director.close();
      operator.close();
    });
  });

  describe('audience', () => {
    it('delivers a publication with an audience only to those users or roles', async () => {
      await using herald = await startHerald();
      const alice = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
      const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob', roles: ['admin'] }));
      const carol = await connectClient(herald.wsUrl, await herald.token({ sub: 'carol' }));
      for (const c of [alice, bob, carol]) await c.request({ type: 'subscribe', channel: 'team' });
      await herald.api('POST', '/api/v1/publish', { channel: 'team', event: 'secret', data: 1, audience: { users: ['alice'], roles: ['admin'] } });
      await herald.api('POST', '/api/v1/publish', { channel: 'team', event: 'open', data: 2 });
      for (const c of [alice, bob, carol]) await c.next((f) => f.type === 'pub' && f.event === 'open');
      assert.deepEqual(alice.pubs('team').map((p) => p.event), ['secret', 'open']);
      assert.deepEqual(bob.pubs('team').map((p) => p.event), ['secret', 'open']);
      assert.deepEqual(carol.pubs('team').map((p) => p.event), ['open']);
      for (const c of [alice, bob, carol]) c.close();
    });
  });
});
