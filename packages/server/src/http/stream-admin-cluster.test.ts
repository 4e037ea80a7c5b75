import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { describeWithRedis } from '../testing/describe-with-redis.js';
import { startHerald } from '../testing/herald-fixture.js';
import { startRedisServer, type RedisServer } from '../testing/redis-server.js';
import { openUpload } from '../testing/stream-upload-client.js';
import { waitFor } from '../testing/wait.js';
import { TestClient } from '../testing/ws-client.js';

describeWithRedis('Streams for admins across two nodes on Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis.close();
  });

  it('lists on node B the stream opened on node A with B’s viewers, and B’s admin cancel ends the upload on A', async () => {
    const prefix = `herald-test-${randomUUID().slice(0, 8)}:`;
    const node = () =>
      startHerald({
        engine: { type: 'redis', redis: { url: redis.url, prefix } },
        routes: [{ path: '/ws/projects/{project_id}', channel: 'project:{project_id}', format: 'data' }],
        channels: { rules: [{ pattern: 'project:*', history: { size: 100, ttl: '10m' } }] },
      });
    await using a = await node();
    await using b = await node();
    const viewer = new TestClient(`${b.wsUrl}/ws/projects/1?token=${await b.token({ sub: 'vic' })}`);
    await viewer.opened();
    await waitFor(() => b.server.node.hub.localSubscribers('default', 'project:1') === 1);
    const opened = await a.api('POST', '/api/v1/streams', { channel: 'project:1', kind: 'lines', cancelled: { type: 'validation_cancelled' } });
    const id = opened.body.id as string;
    const upload = openUpload(`${a.url}/api/v1/streams/${id}/upload`, a.apiKey);
    upload.write(JSON.stringify({ type: 'output', line: 'ok 1' }));
    await viewer.next((f) => f.line === 'ok 1');

    const listed = await b.api('GET', '/api/v1/streams');
    assert.deepEqual([listed.body.nodes, listed.body.answered], [2, 2]);
    assert.deepEqual(
      listed.body.streams.map((s: { id: string; node: string; viewers: number; bytes: number }) => [s.id, s.node, s.viewers, s.bytes]),
      [[id, a.server.node.cluster.nodeId, 1, 4]],
    );

    assert.deepEqual((await b.api('POST', `/api/v1/streams/${id}/cancel`)).body, { state: 'cancelled' });
    const answer = await upload.response;
    assert.deepEqual([answer.status, answer.body.status], [200, 'cancelled']);
    await viewer.next((f) => f.type === 'validation_cancelled');
    // The end reached node A over the control channel: it lists the stream no more.
    await waitFor(async () => (await a.api('GET', '/api/v1/streams')).body.streams.length === 0, 'the cancelled stream gone from the list');
    assert.deepEqual(a.server.node.streams.opened.list(), []);
    upload.end();
    viewer.close();
  });
});
