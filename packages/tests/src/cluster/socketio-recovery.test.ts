import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startRedisServer, type HeraldFixture, type RedisServer } from '@herald/server/testing';
import { io } from 'socket.io-client';
import { ulid } from 'ulid';
import { describeWithRedis, startCluster } from '../support/cluster.js';
import { nextEvent } from '../support/socket-events.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

/** Publishes as a node whose id was minted before what is stored already: its id sorts first, its offset comes last. */
async function publishMintedEarlier(node: HeraldFixture, channel: string, n: number): Promise<void> {
  const input = { id: ulid(Date.now() - 60_000), channel, event: 'tick', data: { channel, n }, ts: Date.now() };
  // Engines key a channel as `tenant:channel`.
  await node.engine.broker.publish(`default:${channel}`, input, { history: node.server.node.historyOptions(channel) });
}

async function publish(node: HeraldFixture, channel: string, n: number): Promise<void> {
  const { status } = await node.api('POST', '/api/v1/publish', { channel, event: 'tick', data: { channel, n } });
  assert.equal(status, 200);
}

describeWithRedis('cluster: Socket.IO recovery across nodes', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it('resumes on another node exactly where the client stopped, whatever order the ids were minted in', async () => {
    await using cluster = await startCluster(redis, 2, { presence: { userEvents: false } });
    const [a, b] = cluster.nodes;
    // The load balancer: the socket reaches node A first, and node B after A is gone from its view.
    await using balancer = await startTcpProxy(a.url);
    const socket = io(balancer.url, { auth: { token: await a.token({ sub: 'ann' }) }, transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 100 });
    try {
      await nextEvent(socket, 'connected');
      for (const room of ['orders', 'calls']) assert.equal((await socket.emitWithAck('join-room', { room })).ok, true);
      const got: string[] = [];
      socket.onAny((event: string, data: { channel: string; n: number }) => event === 'tick' && got.push(`${data.channel}:${data.n}`));

      // Through both nodes, and with ids that sort before earlier offsets: the client's last
      // publication (calls:2) has a lower id than orders:1, which it received before it.
      await publish(a, 'orders', 1);
      await publishMintedEarlier(b, 'calls', 2);
      await waitFor(() => got.length === 2, 'the first two');
      const back = nextEvent(socket, 'connected', 5000);
      balancer.retarget(b.url);
      balancer.cut();
      // Missed while away: one with an id later than anything received, one earlier.
      await publishMintedEarlier(a, 'orders', 3);
      await publish(b, 'calls', 4);
      await back;
      assert.equal(socket.recovered, true);
      await publish(a, 'orders', 5);
      await publishMintedEarlier(b, 'calls', 6);
      await waitFor(() => got.length >= 6, 'every publication once', 5000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const byChannel = (channel: string) => got.filter((g) => g.startsWith(channel));
      assert.deepEqual(byChannel('orders'), ['orders:1', 'orders:3', 'orders:5']);
      assert.deepEqual(byChannel('calls'), ['calls:2', 'calls:4', 'calls:6']);
      assert.equal(got.length, 6, got.join(' '));
    } finally {
      socket.close();
    }
  });

  it('keeps every room of a socket cut again while it was being restored', async () => {
    await using cluster = await startCluster(redis, 1, { presence: { userEvents: false } });
    const [a] = cluster.nodes;
    await using proxy = await startTcpProxy(a.url);
    const rooms = Array.from({ length: 8 }, (_, i) => `room-${i}`);
    const socket = io(proxy.url, { auth: { token: await a.token({ sub: 'ann' }) }, transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 100 });
    try {
      await nextEvent(socket, 'connected');
      for (const room of rooms) assert.equal((await socket.emitWithAck('join-room', { room })).ok, true);
      const got = new Set<string>();
      socket.onAny((event: string, data: { channel: string; n: number }) => event === 'tick' && got.add(`${data.channel}:${data.n}`));
      // The next `connected` (the restore after the cut below) is cut too, while the server is
      // still putting the socket back in its rooms.
      const cutMidRestore = proxy.cutWhenServerSends('["connected"');
      proxy.cut();
      await cutMidRestore;
      await waitFor(() => socket.connected && socket.recovered, 'the socket restored after the second cut');
      for (const room of rooms) await publish(a, room, 1);
      await waitFor(() => got.size === rooms.length, `a publication on each room (got ${[...got].join(' ')})`);
    } finally {
      socket.close();
    }
  });
});
