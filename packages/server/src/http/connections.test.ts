import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald, TEST_API_KEY } from '../testing/herald-fixture.js';
import { connectClient } from '../testing/ws-client.js';

const TENANT_A_KEY = 'tenant-a-key-0123456789';
const config = {
  api: { keys: [{ key: TEST_API_KEY, name: 'test' }, { key: TENANT_A_KEY, tenant: 'a' }] },
  channels: { rules: [{ pattern: 'doc:*', subscribe: 'all' as const, locks: { ttl: '30s' } }, { pattern: '*', subscribe: 'all' as const }] },
};

describe('HTTP connections and locks', () => {
  describe('GET /api/v1/connections', () => {
    it('lists every connection with transport, node, tenant, roles, channels and connected since, oldest first', async () => {
      await using herald = await startHerald(config);
      const before = Date.now();
      const ann = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'a', roles: ['operator'] }));
      await ann.request({ type: 'subscribe', channel: 'news' });
      const zed = await connectClient(herald.wsUrl, await herald.token({ sub: 'zed', tenant: 'b' }));
      const { status, body } = await herald.api('GET', '/api/v1/connections');
      assert.equal(status, 200);
      assert.deepEqual({ nodes: body.nodes, answered: body.answered, truncated: body.truncated }, { nodes: 1, answered: 1, truncated: false });
      const [first, second] = body.connections;
      assert.deepEqual(
        { ...first, connectionId: 'x', connectedAt: 0 },
        { connectionId: 'x', node: herald.server.node.cluster.nodeId, tenant: 'a', userId: 'ann', roles: ['operator'], transport: 'websocket', connectedAt: 0, channels: ['news'] },
      );
      assert.ok(first.connectedAt >= before && first.connectedAt <= Date.now());
      assert.equal(second.userId, 'zed');
      ann.close();
      zed.close();
    });

    it('narrows to a tenant and a user, and keeps a tenant-bound key to its tenant', async () => {
      await using herald = await startHerald(config);
      const clients = [
        await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'a' })),
        await connectClient(herald.wsUrl, await herald.token({ sub: 'amy', tenant: 'a' })),
        await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'b' })),
      ];
      const users = async (path: string, key = TEST_API_KEY) => (await herald.api('GET', path, undefined, { authorization: `Bearer ${key}` })).body.connections.map((c: any) => `${c.tenant}/${c.userId}`);
      assert.deepEqual(await users('/api/v1/connections?tenant=a'), ['a/ann', 'a/amy']);
      assert.deepEqual(await users('/api/v1/connections?userId=ann'), ['a/ann', 'b/ann']);
      assert.deepEqual(await users('/api/v1/connections', TENANT_A_KEY), ['a/ann', 'a/amy']);
      const refused = await herald.api('GET', '/api/v1/connections?tenant=b', undefined, { authorization: `Bearer ${TENANT_A_KEY}` });
      assert.equal(refused.status, 403);
      assert.equal((await herald.api('GET', '/api/v1/connections?tenant=no%20spaces')).status, 400);
      assert.equal((await fetch(`${herald.url}/api/v1/connections`)).status, 401);
      for (const c of clients) c.close();
    });
  });

  describe('GET /api/v1/locks', () => {
    it('lists held locks with holder and expiry, and forgets them when released', async () => {
      await using herald = await startHerald(config);
      const ann = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'a' }));
      const before = Date.now();
      assert.equal((await ann.request({ type: 'lock', channel: 'doc:1', name: 'title' })).result.acquired, true);
      const { status, body } = await herald.api('GET', '/api/v1/locks');
      assert.equal(status, 200);
      assert.equal(body.locks.length, 1);
      const [lock] = body.locks;
      assert.deepEqual({ ...lock, connectionId: 'x', expiresAt: 0 }, { tenant: 'a', channel: 'doc:1', name: 'title', userId: 'ann', connectionId: 'x', node: herald.server.node.cluster.nodeId, expiresAt: 0 });
      assert.ok(lock.expiresAt >= before + 30_000 && lock.expiresAt <= Date.now() + 30_000);
      assert.deepEqual((await herald.api('GET', '/api/v1/locks?tenant=b')).body.locks, []);
      await ann.request({ type: 'unlock', channel: 'doc:1', name: 'title' });
      assert.deepEqual((await herald.api('GET', '/api/v1/locks')).body.locks, []);
      ann.close();
    });
  });
});
