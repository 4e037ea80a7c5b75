import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import type { HeraldConfigInput } from '../config/schema.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { refusedStatus } from '../testing/upgrade-status.js';
import { waitFor, within } from '../testing/wait.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

const CONFIG: HeraldConfigInput = {
  routes: [
    { path: '/ws/projects/{project_id}', channel: 'project:{project_id}' },
    { path: '/api/v0.2/tasks/stream/{user}', channel: 'tasks:{user}', format: 'data' },
    { path: '/ws/audit' },
  ],
  channels: {
    rules: [
      { pattern: 'project:{id}', subscribe: { roles: ['member'] }, history: { size: 100 }, presence: true },
      { pattern: 'tasks:{userId}', subscribe: 'owner', history: { size: 100 } },
      { pattern: '*' },
    ],
  },
  heartbeat: { interval: 100, timeout: 1000 },
};

const publish = (herald: HeraldFixture, channel: string, data: unknown) => herald.api('POST', '/api/v1/publish', { channel, event: 'update', data });

describe('WebSocketTransport routes', () => {
  describe('envelope format', () => {
    it('subscribes the route channel and lists it in the connected frame', async () => {
      await using herald = await startHerald(CONFIG);
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1', roles: ['member'] }), '/ws/projects/42');
      const connected = client.frames[0];
      assert.equal(connected.subscriptions.length, 1);
      assert.equal(connected.subscriptions[0].channel, 'project:42');
      assert.equal(connected.subscriptions[0].offset, 0);
      assert.equal(typeof connected.subscriptions[0].epoch, 'string');
      await publish(herald, 'project:42', { status: 'validated' });
      const pub = await client.next((f) => f.type === 'pub');
      assert.deepEqual([pub.channel, pub.data], ['project:42', { status: 'validated' }]);
      // The route's connection is an ordinary one otherwise.
      assert.ok((await client.request({ type: 'subscribe', channel: 'other' })).result);
      client.close();
    });

    it('fills the channel from a percent-encoded path segment', async () => {
      await using herald = await startHerald(CONFIG);
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1', roles: ['member'] }), '/ws/projects/caf%C3%A9');
      assert.equal(client.frames[0].subscriptions[0].channel, 'project:café');
      client.close();
    });

    it('resumes the route channel from ?offset=&epoch=', async () => {
      await using herald = await startHerald(CONFIG);
      const token = await herald.token({ sub: 'u1', roles: ['member'] });
      const first = await connectClient(herald.wsUrl, token, '/ws/projects/7');
      const { epoch } = first.frames[0].subscriptions[0];
      for (const n of [1, 2]) await publish(herald, 'project:7', n);
      await first.next((f) => f.type === 'pub' && f.offset === 2);
      first.close();
      await first.closed;
      for (const n of [3, 4, 5]) await publish(herald, 'project:7', n);
      const back = new TestClient(`${herald.wsUrl}/ws/projects/7?token=${token}&offset=2&epoch=${epoch}`);
      const connected = await back.next((f) => f.type === 'connected');
      assert.deepEqual(connected.subscriptions[0], { channel: 'project:7', epoch, offset: 5, recovery: { recovered: true, replayed: 3 } });
      await publish(herald, 'project:7', 6);
      await back.next((f) => f.type === 'pub' && f.offset === 6);
      assert.deepEqual(back.pubs('project:7').map((p) => p.data), [3, 4, 5, 6]);
      // The replay comes after the connected frame.
      assert.equal(back.frames[0].type, 'connected');
      back.close();
    });

    it('resumes the route channel from ?lastId=', async () => {
      await using herald = await startHerald(CONFIG);
      const token = await herald.token({ sub: 'u1', roles: ['member'] });
      const ids: string[] = [];
      for (const n of [1, 2, 3]) ids.push((await publish(herald, 'project:7', n)).body.id);
      const back = new TestClient(`${herald.wsUrl}/ws/projects/7?token=${token}&lastId=${ids[0]}`);
      const connected = await back.next((f) => f.type === 'connected');
      assert.deepEqual(connected.subscriptions[0].recovery, { recovered: true, replayed: 2 });
      await back.next((f) => f.type === 'pub' && f.offset === 3);
      assert.deepEqual(back.pubs('project:7').map((p) => p.data), [2, 3]);
      back.close();
    });

    it('closes with 4003 when the rules do not allow the route channel', async () => {
      await using herald = await startHerald(CONFIG);
      const client = new TestClient(`${herald.wsUrl}/ws/projects/42?token=${await herald.token({ sub: 'outsider' })}`);
      const { code, reason } = await within(client.closed);
      assert.equal(code, CloseCode.Forbidden);
      assert.match(reason, /project:42/);
      assert.equal(client.frames.length, 0, 'no connected frame');
    });

    it('closes with 4003 when the path makes an invalid channel name', async () => {
      await using herald = await startHerald(CONFIG);
      const client = new TestClient(`${herald.wsUrl}/ws/projects/a%0Ab?token=${await herald.token({ sub: 'u1', roles: ['member'] })}`);
      const { code, reason } = await within(client.closed);
      assert.equal(code, CloseCode.Forbidden);
      assert.match(reason, /control character/);
    });

    it('accepts a route without a channel as a plain connection', async () => {
      await using herald = await startHerald(CONFIG);
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'admin' }), '/ws/audit');
      assert.deepEqual(client.frames[0].subscriptions, []);
      client.close();
    });
  });

  describe('data format', () => {
    it("sends only each publication's data, and no connected or ping frames", async () => {
      await using herald = await startHerald(CONFIG);
      const client = new TestClient(`${herald.wsUrl}/api/v0.2/tasks/stream/alice?token=${await herald.token({ sub: 'alice' })}`);
      let pings = 0;
      client.ws.on('ping', () => (pings += 1));
      await client.opened();
      await waitFor(() => herald.server.node.hub.localSubscribers('default', 'tasks:alice') === 1, 'the route subscription', 3000);
      // Herald's own events (another user coming online) are not the app's data.
      const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
      await publish(herald, 'tasks:alice', { type: 'TASK_UPDATED', task: { id: 1 } });
      await publish(herald, 'tasks:alice', 'plain');
      await herald.api('POST', '/api/v1/publish', { channel: 'tasks:alice', event: 'no-data' });
      await client.next((f) => f === null);
      // Heartbeats still run, as WebSocket pings only.
      await waitFor(() => pings >= 2, 'two pings', 3000);
      assert.deepEqual(client.frames, [{ type: 'TASK_UPDATED', task: { id: 1 } }, 'plain', null]);
      client.close();
      bob.close();
    });

    it('replays missed data on resume, as bare data too', async () => {
      await using herald = await startHerald(CONFIG);
      const token = await herald.token({ sub: 'alice' });
      const probe = await connectClient(herald.wsUrl, token);
      const { result } = await probe.request({ type: 'subscribe', channel: 'tasks:alice' });
      probe.close();
      for (const n of [1, 2, 3]) await publish(herald, 'tasks:alice', { n });
      const client = new TestClient(`${herald.wsUrl}/api/v0.2/tasks/stream/alice?token=${token}&offset=1&epoch=${result.epoch}`);
      await client.next((f) => f?.n === 3);
      await publish(herald, 'tasks:alice', { n: 4 });
      await client.next((f) => f?.n === 4);
      assert.deepEqual(client.frames, [{ n: 2 }, { n: 3 }, { n: 4 }]);
      client.close();
    });

    it('still answers requests, with reply frames', async () => {
      await using herald = await startHerald(CONFIG);
      const client = new TestClient(`${herald.wsUrl}/api/v0.2/tasks/stream/alice?token=${await herald.token({ sub: 'alice' })}`);
      await client.opened();
      const reply = await client.request({ type: 'subscribe', channel: 'extra' });
      assert.equal(reply.result.channel, 'extra');
      client.close();
    });
  });

  describe('paths', () => {
    it('refuses an unknown path with HTTP 404', async () => {
      await using herald = await startHerald(CONFIG);
      const token = await herald.token({ sub: 'u1', roles: ['member'] });
      for (const path of ['/nowhere', '/ws/projects', '/ws/projects/', '/ws/projects/1/2', '/ws/extra']) {
        assert.equal(await refusedStatus(`${herald.wsUrl}${path}?token=${token}`), 404, path);
      }
    });

    it('refuses a path with broken percent-encoding with HTTP 404 and stays up', async () => {
      await using herald = await startHerald(CONFIG);
      assert.equal(await refusedStatus(`${herald.wsUrl}/ws/projects/%E0%A4%A`), 404);
      assert.equal((await herald.api('GET', '/health')).status, 200);
    });
  });
});
