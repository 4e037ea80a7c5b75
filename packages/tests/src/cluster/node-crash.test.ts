import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { SubscribeResult } from '@herald/client';
import { SseTestClient, startRedisServer, within, type RedisServer } from '@herald/server/testing';
import { io } from 'socket.io-client';
import { describeWithRedis, range, spawnNode, startCluster } from '../support/cluster.js';
import { testClient } from '../support/herald-client.js';
import { nextEvent } from '../support/socket-events.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { sleep, waitFor } from '../support/wait.js';

/** The `i` of every `tick` an SSE stream carried, in order. */
const sseTicks = (...streams: SseTestClient[]) =>
  streams.flatMap((s) => s.events.filter((e) => e.event === 'tick').map((e) => (JSON.parse(e.data) as { data: { i: number } }).data.i));

describeWithRedis('cluster: a node killed with kill -9', () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it('moves its clients to another node with no loss and no duplicate, on WebSocket, SSE and Socket.IO', async () => {
    await using cluster = await startCluster(redis, 2);
    const [a, b] = cluster.nodes;
    await using doomed = await spawnNode(redis, cluster.prefix);
    // The load balancer in front of the doomed node: after the crash it sends reconnects to B.
    await using proxy = await startTcpProxy(doomed.url);

    const ws = testClient(proxy.wsUrl, { token: await a.token({ sub: 'ws-user' }) });
    const wsOffsets: number[] = [];
    const wsResults: SubscribeResult[] = [];
    const feed = ws.subscribe('feed');
    feed.on('tick', (_data, publication) => wsOffsets.push(publication.offset));
    feed.onSubscribed((result) => wsResults.push(result));

    const sseAuth = { authorization: `Bearer ${await a.token({ sub: 'sse-user' })}` };
    const sse1 = new SseTestClient(`${doomed.url}/sse?channels=feed`, sseAuth);

    const socket = io(proxy.url, {
      auth: { token: await a.token({ sub: 'sio-user' }) },
      transports: ['websocket'],
      reconnectionDelay: 50,
      reconnectionDelayMax: 200,
    });
    const sioTicks: number[] = [];
    let sioConnects = 0;
    socket.on('tick', (data: { i: number }) => sioTicks.push(data.i));
    socket.on('connected', () => (sioConnects += 1));
    let sse2: SseTestClient | undefined;
    try {
      await nextEvent(socket, 'connected');
      const joined = await new Promise<{ ok?: boolean }>((resolve) => socket.emit('join-room', { room: 'feed' }, resolve));
      assert.equal(joined.ok, true);
      await sse1.next((e) => e.event === 'connected');
      await waitFor(() => wsResults.length === 1, 'the WebSocket subscribe');

      const total = 300;
      let published = 0;
      const publishing = (async () => {
        for (const i of range(1, total)) {
          const { status, body } = await a.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: { i } });
          assert.equal(status, 200, JSON.stringify(body));
          published = i;
          await sleep(2);
        }
      })();

      await waitFor(() => wsOffsets.length >= 50 && sioTicks.length >= 50 && sseTicks(sse1).length >= 50, 'the first publications everywhere');
      // Reconnects wait until the publisher has moved on, so each client has something to recover.
      proxy.refuse();
      proxy.retarget(b.url);
      await doomed.kill();
      const atCrash = published;
      await waitFor(() => published >= Math.min(total, atCrash + 30), 'publications while the clients are away');
      proxy.accept();

      // The SSE stream ended with its node; the client comes back to B with its Last-Event-ID.
      await within(sse1.done, 5000, 'end of the SSE stream');
      sse2 = new SseTestClient(`${b.url}/sse?channels=feed`, { ...sseAuth, 'last-event-id': sse1.lastEventId });

      await publishing;
      const done = () => wsOffsets.length >= total && sioTicks.length >= total && sseTicks(sse1, sse2!).length >= total;
      await waitFor(done, `${total} publications on every transport`, 15_000);
      // Anything sent twice would arrive right behind.
      await sleep(300);

      assert.deepEqual(wsOffsets, range(1, total), 'WebSocket: offsets 1..N, once each');
      assert.deepEqual(sseTicks(sse1, sse2), range(1, total), 'SSE: 1..N, once each');
      assert.deepEqual(sioTicks, range(1, total), 'Socket.IO: 1..N, once each');

      assert.equal(wsResults.length, 2);
      assert.equal(wsResults[1].recovery?.recovered, true);
      assert.ok((wsResults[1].recovery?.replayed ?? 0) > 0, 'the WebSocket client had missed publications to replay');
      assert.equal(sse2.events.some((e) => e.event === 'not_recovered'), false);
      assert.equal(sioConnects, 2);
      assert.equal(socket.recovered, true, 'Socket.IO connection state was recovered on another node');
      // Every client now lives on B.
      assert.equal(b.server.node.sessions.size, 3);
    } finally {
      ws.close();
      socket.close();
      sse1.close();
      sse2?.close();
    }
  });
});
