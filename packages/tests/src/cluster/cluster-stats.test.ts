import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { connectClient, startRedisServer, TEST_API_KEY, type HeraldFixture, type RedisServer, type TestClient } from '@herald/server/testing';
import { describeWithRedis, spawnNode, startCluster } from '../support/cluster.js';

const get = async (node: HeraldFixture, path: string) => {
  const response = await fetch(node.url + path, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
  return (await response.json()) as any;
};

describeWithRedis('cluster: stats and requests across nodes', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it('sums every node with scope=cluster, a user on two nodes counted once, and asks each node once', async () => {
    await using cluster = await startCluster(redis, 3, { presence: { userEvents: false } });
    const [a, b, c] = cluster.nodes;
    const clients: TestClient[] = [];
    try {
      // Ann on A and on B, Bob on B; C has no one.
      for (const [node, sub, channel] of [[a, 'ann', 'operators'], [b, 'ann', 'operators'], [b, 'bob', 'city:Саратов']] as const) {
        const client = await connectClient(node.wsUrl, await node.token({ sub, tenant: 'acme' }));
        assert.ok((await client.request({ type: 'subscribe', channel })).result);
        clients.push(client);
      }
      assert.deepEqual(await get(c, '/api/v1/stats/connections'), { scope: 'node', total: 0, users: 0, byTransport: {}, byTenant: {} });
      assert.deepEqual(await get(c, '/api/v1/stats/connections?scope=cluster'), {
        scope: 'cluster',
        nodes: 3,
        answered: 3,
        total: 3,
        users: 2,
        byTransport: { websocket: 3 },
        byTenant: { acme: 3 },
      });
      const rooms = await get(a, '/api/v1/stats/rooms?scope=cluster&tenant=acme');
      assert.deepEqual(rooms.rooms, [
        { tenant: 'acme', channel: 'operators', subscribers: 2 },
        { tenant: 'acme', channel: 'city:Саратов', subscribers: 1 },
      ]);
      assert.equal(rooms.answered, 3);
      const connections = await a.server.node.cluster.ask<{ userId: string }[]>({ kind: 'connections', tenant: 'acme', userId: 'ann' });
      assert.equal(connections.complete, true);
      assert.deepEqual(connections.answers.flatMap((x) => x.answer.map((c) => c.userId)), ['ann', 'ann']);
    } finally {
      for (const client of clients) client.close();
    }
  });

  it('says how many answered when a node listens but cannot answer', async () => {
    await using cluster = await startCluster(redis, 1, { presence: { userEvents: false } });
    const [a] = cluster.nodes;
    await using frozen = await spawnNode(redis, cluster.prefix, { presence: { userEvents: false } });
    assert.equal((await get(a, '/api/v1/stats/connections?scope=cluster')).answered, 2);
    // Stopped, the process keeps its Redis connections open but answers nothing.
    frozen.child.kill('SIGSTOP');
    try {
      const answer = await get(a, '/api/v1/stats/connections?scope=cluster');
      assert.deepEqual([answer.scope, answer.nodes, answer.answered], ['cluster', 2, 1]);
    } finally {
      frozen.child.kill('SIGCONT');
    }
  });
});
