import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Gap, SubscribeResult } from '@herald/client';
import { SseTestClient, connectClient, startRedisServer, within, type RedisServer } from '@herald/server/testing';
import { io } from 'socket.io-client';
import { describeWithRedis, range, startCluster } from '../support/cluster.js';
import { testClient } from '../support/herald-client.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const sseTicks = (...streams: SseTestClient[]) =>
  streams.flatMap((s) => s.events.filter((e) => e.event === 'tick').map((e) => (JSON.parse(e.data) as { data: { i: number } }).data.i));

const ready = async (url: string) => (await fetch(`${url}/ready`)).status === 200;

describeWithRedis('cluster: Redis restarted', () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it('the nodes reconnect on their own, clients whose history was lost hear recovered: false, and publishing resumes', async () => {
    await using cluster = await startCluster(redis, 2);
    const [a, b] = cluster.nodes;
    const publish = async (i: number) => {
      const { status, body } = await b.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: { i } });
      return status === 200 ? (body as { epoch?: string; offset: number }) : undefined;
    };

    // Connected through the restart: @herald/client on A, SSE and Socket.IO on B.
    const ws = testClient(a.wsUrl, { token: await a.token({ sub: 'ws-user' }) });
    const wsTicks: number[] = [];
    const wsResults: SubscribeResult[] = [];
    const gaps: Gap[] = [];
    const feed = ws.subscribe('feed');
    feed.on('tick', (data) => wsTicks.push((data as { i: number }).i));
    feed.onSubscribed((result) => wsResults.push(result));
    feed.onGap((gap) => gaps.push(gap));

    const sseAuth = { authorization: `Bearer ${await b.token({ sub: 'sse-user' })}` };
    const sse1 = new SseTestClient(`${b.url}/sse?channels=feed`, sseAuth);
    let sse2: SseTestClient | undefined;

    // Socket.IO through a proxy only so that the stock client's own reconnects are what is tested.
    await using proxy = await startTcpProxy(b.url);
    const socket = io(proxy.url, { auth: { token: await b.token({ sub: 'sio-user' }) }, transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 });
    const sioTicks: number[] = [];
    const sioConnects: boolean[] = [];
    socket.on('tick', (data: { i: number }) => sioTicks.push(data.i));
    // As seed 001's client does: join on every (re)connect; a recovered socket is still in its rooms.
    socket.on('connected', () => {
      sioConnects.push(socket.recovered);
      if (!socket.recovered) socket.emit('join-room', { room: 'feed' });
    });

    // Away during the restart: it knows its position and comes back afterwards.
    const away = await connectClient(a.wsUrl, await a.token({ sub: 'away-user' }));
    try {
      await away.request({ type: 'subscribe', channel: 'feed' });
      await sse1.next((e) => e.event === 'connected');
      await waitFor(() => wsResults.length === 1 && sioConnects.length === 1, 'the subscriptions');
      await waitFor(() => b.server.node.hub.localSubscribers('default', 'feed') === 2, 'Socket.IO in the room');
      for (const i of range(1, 3)) assert.ok(await publish(i));
      await waitFor(() => wsTicks.length === 3 && sioTicks.length === 3 && sseTicks(sse1).length === 3 && away.pubs('feed').length === 3, 'publications 1-3');
      const before = away.pubs('feed').at(-1);
      away.close();
      await within(away.closed);

      await redis.restart();
      await waitFor(async () => (await ready(a.url)) && (await ready(b.url)), 'both nodes ready again', 10_000);

      // Connected clients are sent to resubscribe, and told the stream was reset.
      const gap = await waitFor(() => gaps[0], 'the WebSocket client told of the gap', 10_000);
      assert.equal(gap.reason, 'epoch_changed');
      assert.deepEqual(gap.previous && { epoch: gap.previous.epoch, offset: gap.previous.offset }, { epoch: before.epoch, offset: 3 });
      assert.equal(wsResults.at(-1)?.recovery?.recovered, false);

      await within(sse1.done, 10_000, 'the SSE stream sent to reconnect');
      sse2 = new SseTestClient(`${b.url}/sse?channels=feed`, { ...sseAuth, 'last-event-id': sse1.lastEventId });
      const notRecovered = await sse2.next((e) => e.event === 'not_recovered', 5000);
      assert.equal(JSON.parse(notRecovered.data).reason, 'epoch_changed');

      await waitFor(() => sioConnects.length === 2, 'the Socket.IO reconnect', 10_000);
      assert.equal(sioConnects[1], false, 'Socket.IO reports the state as not recovered');

      const back = await connectClient(a.wsUrl, await a.token({ sub: 'away-user' }));
      const reply = await back.request({ type: 'subscribe', channel: 'feed', since: { epoch: before.epoch, offset: before.offset } });
      assert.deepEqual(reply.result.recovery, { recovered: false, reason: 'epoch_changed', replayed: 0 });
      back.close();

      // Service resumes, on the same nodes.
      await waitFor(() => b.server.node.hub.localSubscribers('default', 'feed') === 2, 'Socket.IO back in the room', 5000);
      for (const i of range(4, 6)) {
        const result = await publish(i);
        assert.ok(result, 'publish after the restart');
        assert.equal(result.offset, i - 3, 'offsets start over in the new epoch');
      }
      const all = range(1, 6);
      await waitFor(() => wsTicks.length === 6 && sioTicks.length === 6 && sseTicks(sse1, sse2!).length === 6, 'publications 4-6', 5000);
      assert.deepEqual(wsTicks, all);
      assert.deepEqual(sioTicks, all);
      assert.deepEqual(sseTicks(sse1, sse2), all);

      // Presence is registered again by the nodes themselves.
      const presence = await waitFor(async () => {
        const { body } = await a.api('GET', '/api/v1/channels/feed/presence');
        return body.users?.length === 3 ? body.users : undefined;
      }, 'presence back', 5000);
      assert.deepEqual(presence.map((u: { userId: string }) => u.userId).sort(), ['sio-user', 'sse-user', 'ws-user']);
    } finally {
      ws.close();
      socket.close();
      sse1.close();
      sse2?.close();
    }
  });
});
