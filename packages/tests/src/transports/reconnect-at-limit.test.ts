import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseTestClient, startHerald, type HeraldFixture } from '@herald/server/testing';
import { io, type Socket } from 'socket.io-client';
import { testClient } from '../support/herald-client.js';
import { nextEvent } from '../support/socket-events.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { sleep, waitFor } from '../support/wait.js';

/** A tenant of two connections, with heartbeats slow enough that the server never notices a dead client by itself here. */
const TWO_PER_TENANT = { limits: { connectionsPerTenant: 2 }, heartbeat: { interval: '60s', timeout: '60s' }, presence: { userEvents: false } };

/** Connections the node holds now. */
const sessions = (herald: HeraldFixture) => herald.server.node.sessions.size;

async function publishNews(herald: HeraldFixture, n: number): Promise<void> {
  const { status } = await herald.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'news', event: 'news', data: { n } });
  assert.equal(status, 200);
}

describe('a client coming back to a full tenant', () => {
  it('Socket.IO: a recovering socket replaces the one the server still holds, and a fresh one is retried until there is room', async () => {
    await using herald = await startHerald(TWO_PER_TENANT);
    await using proxy = await startTcpProxy(herald.url);
    const sockets: Socket[] = [];
    const open = (url: string, sub: string) => {
      const socket = io(url, { auth: async (cb) => cb({ token: await herald.token({ sub, tenant: 'acme' }) }), transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 100 });
      sockets.push(socket);
      return socket;
    };
    try {
      const ann = open(proxy.url, 'ann');
      await nextEvent(ann, 'connected');
      assert.equal((await ann.emitWithAck('join-room', { room: 'news' })).ok, true);
      const bob = open(herald.url, 'bob');
      await nextEvent(bob, 'connected');
      const got: number[] = [];
      ann.on('news', (data: { n: number }) => got.push(data.n));
      await publishNews(herald, 1);
      await waitFor(() => got.length === 1 && got, 'the first publication');

      // Ann's network drops; the server still counts her old connection, so the tenant looks full.
      const back = nextEvent(ann, 'connected', 5000);
      proxy.dropClients();
      await publishNews(herald, 2);
      await back;
      assert.equal(ann.recovered, true);
      await waitFor(() => sessions(herald) === 2, 'the stale connection to be replaced');
      await publishNews(herald, 3);
      await waitFor(() => got.length === 3, 'the publications after the return');
      assert.deepEqual(got, [1, 2, 3]);

      // A newcomer is refused while the tenant is full, in a way a stock client retries by itself.
      const carl = open(herald.url, 'carl');
      let carlIn = false;
      carl.on('connected', () => (carlIn = true));
      await sleep(500);
      assert.equal(carlIn, false);
      assert.equal(carl.active, true, 'socket.io-client keeps trying');
      bob.disconnect();
      await waitFor(() => carlIn, 'the newcomer to get in once there is room');
    } finally {
      for (const socket of sockets) socket.close();
    }
  });

  it('native WebSocket: a reconnecting client names its previous connection and takes its place', async () => {
    await using herald = await startHerald(TWO_PER_TENANT);
    await using proxy = await startTcpProxy(herald.url);
    const ann = testClient(proxy.url, { token: await herald.token({ sub: 'ann', tenant: 'acme' }) });
    const bob = testClient(herald.url, { token: await herald.token({ sub: 'bob', tenant: 'acme' }) });
    try {
      const got: number[] = [];
      ann.subscribe('news').onPublication((p) => got.push((p.data as { n: number }).n));
      await waitFor(() => ann.status === 'connected' && bob.status === 'connected' && sessions(herald) === 2, 'both connected');
      const first = ann.connection?.connectionId;
      await sleep(100);
      proxy.dropClients();
      await waitFor(() => ann.status !== 'connected', 'ann to notice');
      await waitFor(() => ann.status === 'connected', 'ann to be back', 5000);
      assert.notEqual(ann.connection?.connectionId, first);
      await waitFor(() => sessions(herald) === 2, 'the stale connection to be replaced');
      assert.equal(bob.status, 'connected');
      await publishNews(herald, 1);
      await waitFor(() => got.length === 1, 'a publication after the return');
    } finally {
      ann.close();
      bob.close();
    }
  });

  it('SSE: a reader coming back with its Last-Event-ID replaces the stream the server still holds', async () => {
    await using herald = await startHerald(TWO_PER_TENANT);
    await using proxy = await startTcpProxy(herald.url);
    const token = await herald.token({ sub: 'ann', tenant: 'acme' });
    const first = new SseTestClient(`${proxy.url}/sse?channels=news&token=${token}`);
    const bob = new SseTestClient(`${herald.url}/sse?channels=news&token=${await herald.token({ sub: 'bob', tenant: 'acme' })}`);
    let second: SseTestClient | undefined;
    try {
      await first.next((e) => e.event === 'connected');
      await bob.next((e) => e.event === 'connected');
      await publishNews(herald, 1);
      await first.next((e) => e.event === 'news');
      proxy.dropClients();
      await publishNews(herald, 2);
      second = new SseTestClient(`${proxy.url}/sse?channels=news&token=${token}`, { 'last-event-id': first.lastEventId });
      await second.next((e) => e.event === 'connected');
      const replayed = await second.next((e) => e.event === 'news');
      assert.equal(JSON.parse(replayed.data).data.n, 2);
      assert.equal(second.events.some((e) => e.event === 'error'), false, JSON.stringify(second.events));
      await waitFor(() => sessions(herald) === 2, 'the stale stream to be replaced');
    } finally {
      first.close();
      second?.close();
      bob.close();
    }
  });
});
