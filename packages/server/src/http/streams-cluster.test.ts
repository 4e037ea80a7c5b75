import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { describeWithRedis } from '../testing/describe-with-redis.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { startRedisServer, type RedisServer } from '../testing/redis-server.js';
import { openUpload } from '../testing/stream-upload-client.js';
import { waitFor } from '../testing/wait.js';
import { TestClient } from '../testing/ws-client.js';

describeWithRedis('Streams across two nodes on Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis.close();
  });

  const node = (prefix: string, idleTimeout = 60_000) =>
    startHerald({
      engine: { type: 'redis', redis: { url: redis.url, prefix } },
      streams: { idleTimeout },
      routes: [{ path: '/ws/projects/{project_id}', channel: 'project:{project_id}', format: 'data' }],
      channels: { rules: [{ pattern: 'project:*', history: { size: 1000, ttl: '10m' }, cancel: { roles: ['editor'] } }] },
    });

  async function viewer(h: HeraldFixture, sub: string, roles: string[] = ['editor']) {
    const client = new TestClient(`${h.wsUrl}/ws/projects/1?token=${await h.token({ sub, roles })}`);
    await client.opened();
    await waitFor(() => h.server.node.hub.localSubscribers('default', 'project:1') >= 1);
    return client;
  }

  it('keeps the order of chunks appended on node A for viewers on node B, a joiner on B gets the snapshot, and a cancel on B ends the upload on A at once', async () => {
    const prefix = `herald-test-${randomUUID().slice(0, 8)}:`;
    await using a = await node(prefix);
    await using b = await node(prefix);
    const early = await viewer(b, 'early', []);
    const opened = await a.api('POST', '/api/v1/streams', { channel: 'project:1', kind: 'tokens', start: { type: 'iteration_start', proposal_id: 3 }, cancelled: { type: 'iteration_cancelled' } });
    assert.equal(opened.status, 200);
    const upload = openUpload(`${a.url}/api/v1/streams/${opened.body.id}/upload`, a.apiKey);
    const tokens = Array.from({ length: 200 }, (_, i) => `w${i} `);
    for (const content of tokens.slice(0, 100)) upload.write(JSON.stringify({ type: 'token', content }));
    await early.next((f) => f.content === tokens[99]);
    const joiner = await viewer(b, 'joiner', []);
    for (const content of tokens.slice(100)) upload.write(JSON.stringify({ type: 'token', content }));
    await early.next((f) => f.content === tokens[199]);
    await joiner.next((f) => typeof f.content === 'string' && f.content.endsWith(tokens[199]));
    const canceller = await viewer(b, 'dev1');
    const clicked = performance.now();
    canceller.send({ type: 'cancel' });
    const answer = await upload.response;
    const ms = answer.at - clicked;
    console.log(`cancel on node B to the upload's answer on node A: ${ms.toFixed(1)} ms (seed 002 needs the LLM request cancelled within 100 ms)`);
    assert.deepEqual([answer.status, answer.body.status], [200, 'cancelled']);
    // Asserted generously (a shared machine under load); the figure against the seed's 100 ms is printed above.
    assert.ok(ms < 1000, `${ms} ms`);
    for (const client of [early, joiner]) await client.next((f) => f.type === 'iteration_cancelled');
    const frames = (c: TestClient) => c.frames.filter((f) => f.type !== 'ping');
    assert.deepEqual(frames(early).map((f) => f.content ?? f.type), ['iteration_start', ...tokens, 'iteration_cancelled']);
    const joined = frames(joiner);
    assert.deepEqual(joined[0], { type: 'iteration_start', proposal_id: 3 });
    assert.equal(joined.filter((f) => f.type === 'token').map((f) => f.content).join(''), tokens.join(''));
    const late = await b.api('POST', `/api/v1/streams/${opened.body.id}/chunks`, { chunks: [{ type: 'token', content: 'x' }] });
    assert.deepEqual([late.status, late.body.state], [409, 'cancelled']);
    upload.end();
    for (const c of [early, joiner, canceller]) c.close();
  });

  it('ends a stream whose backend vanished once, as failed, though every node sweeps', async () => {
    const prefix = `herald-test-${randomUUID().slice(0, 8)}:`;
    await using a = await node(prefix, 300);
    await using b = await node(prefix, 300);
    const watcher = await viewer(b, 'watcher', []);
    const opened = await a.api('POST', '/api/v1/streams', { channel: 'project:1', kind: 'lines', failed: { type: 'validation_error', error: '' } });
    await a.api('POST', `/api/v1/streams/${opened.body.id}/chunks`, { chunks: [{ type: 'output', line: 'working', stream: 'stdout' }] });
    await watcher.next((f) => f.type === 'validation_error', 5000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(watcher.frames.filter((f) => f.type !== 'ping').map((f) => f.type), ['output', 'validation_error']);
    watcher.close();
  });

  it('answers 503 while Redis does not answer, and writes again once it does', async () => {
    const own = await startRedisServer();
    try {
      await using h = await startHerald({ engine: { type: 'redis', redis: { url: own.url, commandTimeout: 300 } }, channels: { rules: [{ pattern: '*', history: { size: 10, ttl: '1m' } }] } });
      const opened = await h.api('POST', '/api/v1/streams', { channel: 'answers', kind: 'tokens' });
      own.freeze();
      const frozen = await h.api('POST', `/api/v1/streams/${opened.body.id}/chunks`, { chunks: [{ type: 'token', content: 'x' }] });
      assert.deepEqual([frozen.status, frozen.body.error.code], [503, 'unavailable']);
      own.thaw();
      await waitFor(async () => (await h.api('POST', `/api/v1/streams/${opened.body.id}/chunks`, { chunks: [{ type: 'token', content: 'y' }] })).status === 200, 'a write after the thaw', 10_000);
    } finally {
      await own.close();
    }
  });
});
