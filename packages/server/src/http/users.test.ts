import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { startHerald, TEST_API_KEY } from '../testing/herald-fixture.js';
import { connectClient, type TestClient } from '../testing/ws-client.js';

const TENANT_A_KEY = 'tenant-a-key-0123456789';
const tenantKeys = { api: { keys: [{ key: TEST_API_KEY, name: 'test' }, { key: TENANT_A_KEY, tenant: 'a' }] } };

/** Resolves when the client still gets answers: a ping round trip after the disconnect went out. */
async function stillOpen(client: TestClient): Promise<void> {
  const id = Math.floor(Math.random() * 1e9);
  client.send({ type: 'ping', id });
  await client.next((f) => f.type === 'pong' && f.id === id);
}

describe('HTTP users', () => {
  describe('POST /api/v1/users/:userId/disconnect', () => {
    it("closes every connection of the user with 4009 and the reason, and no one else's", async () => {
      await using herald = await startHerald();
      const bob1 = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
      const bob2 = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
      const carol = await connectClient(herald.wsUrl, await herald.token({ sub: 'carol' }));
      const res = await herald.api('POST', '/api/v1/users/bob/disconnect', { reason: 'account blocked' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { disconnected: 2 });
      for (const c of [bob1, bob2]) assert.deepEqual(await c.closed, { code: CloseCode.DisconnectedByServer, reason: 'account blocked' });
      await stillOpen(carol);
      carol.close();
    });

    it('takes no body at all, and a URL-encoded user id', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'иван@example.com' }));
      const response = await fetch(`${herald.url}/api/v1/users/${encodeURIComponent('иван@example.com')}/disconnect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { disconnected: 1 });
      assert.equal((await client.closed).code, CloseCode.DisconnectedByServer);
    });

    it('closes one connection when given its id', async () => {
      await using herald = await startHerald();
      const first = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
      const second = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
      const connected = second.frames.find((f) => f.type === 'connected');
      const res = await herald.api('POST', '/api/v1/users/bob/disconnect', { connectionId: connected.connectionId });
      assert.deepEqual(res.body, { disconnected: 1 });
      assert.equal((await second.closed).code, CloseCode.DisconnectedByServer);
      await stillOpen(first);
      first.close();
    });

    it('stays inside the tenant', async () => {
      await using herald = await startHerald(tenantKeys);
      const inA = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob', tenant: 'a' }));
      const inB = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob', tenant: 'b' }));
      const res = await herald.api('POST', '/api/v1/users/bob/disconnect', {}, { authorization: `Bearer ${TENANT_A_KEY}` });
      assert.deepEqual(res.body, { disconnected: 1 });
      assert.equal((await inA.closed).code, CloseCode.DisconnectedByServer);
      await stillOpen(inB);
      const forbidden = await herald.api('POST', '/api/v1/users/bob/disconnect', { tenant: 'b' }, { authorization: `Bearer ${TENANT_A_KEY}` });
      assert.equal(forbidden.status, 403);
      inB.close();
    });

    it('answers 0 for a user without connections', async () => {
      await using herald = await startHerald();
      const res = await herald.api('POST', '/api/v1/users/nobody/disconnect', {});
      assert.deepEqual(res.body, { disconnected: 0 });
    });

    it('accepts the key as the body token', async () => {
      await using herald = await startHerald();
      const response = await fetch(`${herald.url}/api/v1/users/bob/disconnect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: TEST_API_KEY }),
      });
      assert.equal(response.status, 200);
    });

    const bad: [string, unknown, string][] = [
      ['a reason that does not fit a close frame', { reason: 'я'.repeat(62) }, 'reason'],
      ['an unknown field', { code: 4000 }, 'code'],
      ['a bad tenant', { tenant: '' }, 'tenant'],
    ];
    for (const [name, body, field] of bad) {
      it(`answers 400 naming ${field} for ${name}`, async () => {
        await using herald = await startHerald();
        const res = await herald.api('POST', '/api/v1/users/bob/disconnect', body);
        assert.equal(res.status, 400);
        assert.equal(res.body.error.field, field);
      });
    }

    it('answers 401 without a key', async () => {
      await using herald = await startHerald();
      const response = await fetch(`${herald.url}/api/v1/users/bob/disconnect`, { method: 'POST' });
      assert.equal(response.status, 401);
    });
  });
});
