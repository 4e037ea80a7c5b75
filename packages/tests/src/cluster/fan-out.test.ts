import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { connectClient, startRedisServer, within, type RedisServer, type TestClient } from '@herald/server/testing';
import { describeWithRedis, range, startCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const subscribe = async (client: TestClient, channel: string) => {
  const reply = await client.request({ type: 'subscribe', channel });
  assert.ok(reply.result, `subscribe ${channel}: ${JSON.stringify(reply.error)}`);
  return reply.result;
};

const userEvents = (client: TestClient) => client.pubs('$tenant').map((p) => `${p.event}:${p.data.userId}`);

/** Answers a ping: the connection is open and served. */
const alive = async (client: TestClient) => {
  const id = Math.floor(Math.random() * 1e9);
  client.send({ type: 'ping', id });
  await client.next((f) => f.type === 'pong' && f.id === id);
};

describeWithRedis('cluster: three nodes on one Redis', () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it("delivers clients' publications to every node in one order, with presence and join/leave", async () => {
    await using cluster = await startCluster(redis, 3);
    const [a, b, c] = cluster.nodes;
    const alice = await connectClient(a.wsUrl, await a.token({ sub: 'alice', name: 'Alice' }));
    const bob = await connectClient(b.wsUrl, await b.token({ sub: 'bob', name: 'Bob' }));
    const carol = await connectClient(c.wsUrl, await c.token({ sub: 'carol', name: 'Carol' }));
    const clients = [alice, bob, carol];
    try {
      for (const client of clients) await subscribe(client, 'room:1');
      const joins = (client: TestClient) => client.frames.filter((f) => f.type === 'join').map((f) => f.user.userId);
      await waitFor(() => joins(alice).length === 2 && joins(bob).length === 1, 'joins on A and B');
      assert.deepEqual(joins(alice), ['bob', 'carol']);
      assert.deepEqual(joins(bob), ['carol']);
      assert.deepEqual(joins(carol), []);

      const presence = await carol.request({ type: 'presence', channel: 'room:1' });
      const users = [...presence.result.users].sort((x, y) => x.userId.localeCompare(y.userId));
      assert.deepEqual(users, [
        { userId: 'alice', connections: 1, info: { name: 'Alice' } },
        { userId: 'bob', connections: 1, info: { name: 'Bob' } },
        { userId: 'carol', connections: 1, info: { name: 'Carol' } },
      ]);

      // Each client publishes through its own node, all at once.
      const perClient = 10;
      await Promise.all(
        clients.map(async (client, n) => {
          for (const i of range(1, perClient)) {
            const reply = await client.request({ type: 'publish', channel: 'room:1', event: 'say', data: { from: n, i } });
            assert.ok(reply.result, JSON.stringify(reply.error));
          }
        }),
      );
      const total = perClient * clients.length;
      for (const client of clients) await waitFor(() => client.pubs('room:1').length >= total, `${total} publications`);
      const seen = clients.map((client) => client.pubs('room:1').map((p) => `${p.offset}:${p.id}`));
      assert.deepEqual(seen[0].map((s) => Number(s.split(':')[0])), range(1, total), 'offsets 1..N in order, once each');
      assert.deepEqual(seen[1], seen[0], 'B saw what A saw, in the same order');
      assert.deepEqual(seen[2], seen[0], 'C saw what A saw, in the same order');
      // Each publisher's own publications keep their order.
      for (const n of [0, 1, 2]) {
        const own = alice.pubs('room:1').filter((p) => p.data.from === n).map((p) => p.data.i);
        assert.deepEqual(own, range(1, perClient));
      }

      carol.close();
      await waitFor(() => alice.frames.some((f) => f.type === 'leave' && f.user.userId === 'carol'), 'leave on A');
      await waitFor(() => bob.frames.some((f) => f.type === 'leave' && f.user.userId === 'carol'), 'leave on B');
      const left = await alice.request({ type: 'presence', channel: 'room:1' });
      assert.deepEqual(left.result.users.map((u: { userId: string }) => u.userId).sort(), ['alice', 'bob']);
    } finally {
      for (const client of clients) client.close();
    }
  });

  it("delivers a publication through node A's HTTP API to clients on B and C, in order", async () => {
    await using cluster = await startCluster(redis, 3);
    const [a, b, c] = cluster.nodes;
    const onB = await connectClient(b.wsUrl, await b.token({ sub: 'u-b' }));
    const onC = await connectClient(c.wsUrl, await c.token({ sub: 'u-c' }));
    try {
      await subscribe(onB, 'feed');
      await subscribe(onC, 'feed');
      const total = 50;
      for (const i of range(1, total)) {
        const { status, body } = await a.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: { i } });
        assert.equal(status, 200, JSON.stringify(body));
        assert.equal(body.offset, i);
      }
      for (const client of [onB, onC]) {
        await waitFor(() => client.pubs('feed').length >= total, `${total} publications`);
        assert.deepEqual(client.pubs('feed').map((p) => p.data.i), range(1, total));
        assert.deepEqual(client.pubs('feed').map((p) => p.offset), range(1, total));
      }
    } finally {
      onB.close();
      onC.close();
    }
  });

  it('announces user:online and user:offline across nodes', async () => {
    await using cluster = await startCluster(redis, 3);
    const [a, b, c] = cluster.nodes;
    const watcher = await connectClient(a.wsUrl, await a.token({ sub: 'watcher', tenant: 'acme' }));
    try {
      const olga = await connectClient(b.wsUrl, await b.token({ sub: 'olga', tenant: 'acme', name: 'Olga', roles: ['operator'] }));
      const online = await watcher.next((f) => f.type === 'pub' && f.event === 'user:online' && f.data.userId === 'olga');
      assert.deepEqual(online.data, { userId: 'olga', name: 'Olga', role: 'operator', roles: ['operator'] });
      // A second connection, on another node, is not a second arrival; closing one is not a departure.
      const olga2 = await connectClient(c.wsUrl, await c.token({ sub: 'olga', tenant: 'acme', name: 'Olga', roles: ['operator'] }));
      olga.close();
      await within(olga.closed);
      olga2.close();
      await watcher.next((f) => f.type === 'pub' && f.event === 'user:offline' && f.data.userId === 'olga');
      assert.deepEqual(userEvents(watcher), ['user:online:olga', 'user:offline:olga']);
    } finally {
      watcher.close();
    }
  });

  it("holds the per-user connection limit across nodes: the oldest, on another node, gets 4005", async () => {
    await using cluster = await startCluster(redis, 3, { limits: { connectionsPerUser: 2 } });
    const [a, b, c] = cluster.nodes;
    const token = await a.token({ sub: 'dave' });
    const first = await connectClient(a.wsUrl, token);
    const second = await connectClient(b.wsUrl, token);
    const third = await connectClient(c.wsUrl, token);
    try {
      assert.equal((await within(first.closed, 3000, 'close of the oldest')).code, CloseCode.ConnectionReplaced);
      await alive(second);
      await alive(third);
    } finally {
      second.close();
      third.close();
    }
  });

  it("closes a user's connections on every node when the API disconnects them", async () => {
    await using cluster = await startCluster(redis, 3);
    const [a, b, c] = cluster.nodes;
    const eves = await Promise.all(cluster.nodes.map(async (node) => connectClient(node.wsUrl, await node.token({ sub: 'eve' }))));
    const bystander = await connectClient(c.wsUrl, await c.token({ sub: 'frank' }));
    try {
      const { status, body } = await b.api('POST', '/api/v1/users/eve/disconnect', { reason: 'bye' });
      assert.equal(status, 200, JSON.stringify(body));
      for (const eve of eves) assert.equal((await within(eve.closed)).code, CloseCode.DisconnectedByServer);
      await alive(bystander);
      await waitFor(() => a.server.node.sessions.size + b.server.node.sessions.size === 0, 'no session left on A and B');
    } finally {
      bystander.close();
    }
  });

  it("announces a vanished node's users offline, and their leave, once, from the nodes that remain", async () => {
    await using cluster = await startCluster(redis, 3);
    const [a, b, c] = cluster.nodes;
    const watchA = await connectClient(a.wsUrl, await a.token({ sub: 'watch-a', tenant: 'crash' }));
    const watchB = await connectClient(b.wsUrl, await b.token({ sub: 'watch-b', tenant: 'crash' }));
    const gina = await connectClient(c.wsUrl, await c.token({ sub: 'gina', tenant: 'crash', name: 'Gina' }));
    try {
      await subscribe(watchA, 'room:crash');
      await subscribe(watchB, 'room:crash');
      await subscribe(gina, 'room:crash');
      await watchA.next((f) => f.type === 'join' && f.user.userId === 'gina');
      // C loses Redis first and then its clients: nothing it does reaches the others, as after
      // `kill -9`; gina's entries are left to expire.
      await c.engine.close();
      gina.ws.terminate();
      await within(gina.closed);
      for (const watcher of [watchA, watchB]) {
        const offline = await watcher.next((f) => f.type === 'pub' && f.event === 'user:offline' && f.data.userId === 'gina', 10_000);
        assert.deepEqual(offline.data, { userId: 'gina', name: 'Gina', role: null, roles: [] });
        const leave = await watcher.next((f) => f.type === 'leave' && f.user.userId === 'gina', 10_000);
        assert.deepEqual(leave.user, { userId: 'gina', connections: 0, info: { name: 'Gina' } });
      }
      // Only one node announces each departure.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      for (const watcher of [watchA, watchB]) {
        assert.deepEqual(userEvents(watcher).filter((e) => e.endsWith(':gina')), ['user:online:gina', 'user:offline:gina']);
        assert.equal(watcher.frames.filter((f) => f.type === 'leave' && f.user.userId === 'gina').length, 1);
      }
      const presence = await watchA.request({ type: 'presence', channel: 'room:crash' });
      assert.deepEqual(presence.result.users.map((u: { userId: string }) => u.userId).sort(), ['watch-a', 'watch-b']);
    } finally {
      watchA.close();
      watchB.close();
    }
  });
});
