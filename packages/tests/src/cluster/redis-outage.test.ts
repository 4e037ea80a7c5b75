import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Gap, HeraldClient, SubscribeResult } from '@herald/client';
import { SseTestClient, startRedisServer, type HeraldFixture, type RedisServer } from '@herald/server/testing';
import { describeWithRedis, range, startCluster } from '../support/cluster.js';
import { recordStatuses, testClient } from '../support/herald-client.js';
import { sleep, waitFor } from '../support/wait.js';

/** A @herald/client subscribed to `feed`, recording what it gets. */
function feedClient(node: HeraldFixture, token: string) {
  const client: HeraldClient = testClient(node.wsUrl, { token });
  const record = { client, ticks: [] as number[], results: [] as SubscribeResult[], gaps: [] as Gap[], statuses: recordStatuses(client).statuses };
  const feed = client.subscribe('feed');
  feed.on('tick', (data) => record.ticks.push((data as { i: number }).i));
  feed.onSubscribed((result) => record.results.push(result));
  feed.onGap((gap) => record.gaps.push(gap));
  return record;
}

const readiness = async (node: HeraldFixture) => {
  const response = await fetch(`${node.url}/ready`);
  return { status: response.status, body: (await response.json()) as { status: string; engine: string; accepting: boolean } };
};

const publish = (node: HeraldFixture, i: number, idempotencyKey?: string) =>
  node.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: { i }, ...(idempotencyKey ? { idempotencyKey } : {}) });

/** Publishes, and measures how long the answer took. */
async function timedPublish(node: HeraldFixture, i: number, idempotencyKey?: string) {
  const t0 = Date.now();
  const { status } = await publish(node, i, idempotencyKey);
  return { status, ms: Date.now() - t0 };
}

describeWithRedis('cluster: Redis unavailable', () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it('when Redis stops: 503 at once, /ready says so, clients stay connected; all comes back with it', async () => {
    await using cluster = await startCluster(redis, 2);
    const [a, b] = cluster.nodes;
    const onA = feedClient(a, await a.token({ sub: 'u-a' }));
    const onB = feedClient(b, await b.token({ sub: 'u-b' }));
    try {
      await waitFor(() => onA.results.length === 1 && onB.results.length === 1, 'the subscriptions');
      assert.equal((await publish(a, 1)).status, 200);
      await waitFor(() => onA.ticks.length === 1 && onB.ticks.length === 1, 'publication 1');

      await redis.stop();
      const failed = await timedPublish(a, 2);
      assert.equal(failed.status, 503);
      assert.ok(failed.ms < 3000, `publish answered after ${failed.ms} ms`);
      for (const node of [a, b]) {
        const { status, body } = await waitFor(async () => {
          const r = await readiness(node);
          return r.status === 503 ? r : undefined;
        }, '/ready to report the engine');
        assert.equal(status, 503);
        assert.deepEqual(body, { status: 'not ready', engine: 'unavailable', accepting: true });
      }
      // Clients are not dropped while the gateway waits for Redis.
      await sleep(1500);
      for (const c of [onA, onB]) assert.deepEqual(c.statuses.slice(-1), ['connected']);
      assert.equal(a.server.node.sessions.size + b.server.node.sessions.size, 2);

      await redis.start();
      for (const node of [a, b]) await waitFor(async () => (await readiness(node)).status === 200, '/ready 200 again', 10_000);
      // A restarted Redis lost the streams: subscribers are told, never left with a silent gap.
      for (const c of [onA, onB]) {
        const gap = await waitFor(() => c.gaps[0], 'the stream reset reported', 10_000);
        assert.equal(gap.reason, 'epoch_changed');
      }
      await waitFor(async () => (await publish(b, 3)).status === 200, 'publishing again');
      await waitFor(() => onA.ticks.length === 2 && onB.ticks.length === 2, 'publication 3 on both nodes', 5000);
      for (const c of [onA, onB]) assert.deepEqual(c.ticks, [1, 3]);
    } finally {
      onA.client.close();
      onB.client.close();
    }
  });

  it('a subscribe refused while Redis is down stays pending and succeeds on its own once Redis is back', async () => {
    await using cluster = await startCluster(redis, 1);
    const [node] = cluster.nodes;
    const client: HeraldClient = testClient(node.wsUrl, { token: await node.token({ sub: 'u-late' }) });
    const errors: string[] = [];
    client.on('error', (err) => errors.push(err.code));
    try {
      await client.connect();
      await redis.stop();
      const late = client.subscribe('late');
      const ticks: number[] = [];
      late.on('tick', (data) => ticks.push((data as { i: number }).i));
      await waitFor(() => errors.includes('unavailable'), 'the refusal while Redis is down', 10_000);
      assert.equal(late.status, 'pending', 'a "try again" refusal is retried, not final');
      await sleep(500);
      assert.equal(late.status, 'pending');

      await redis.start();
      await waitFor(() => late.status === 'subscribed', 'the subscription once Redis is back', 15_000);
      await waitFor(async () => (await node.api('POST', '/api/v1/publish', { channel: 'late', event: 'tick', data: { i: 1 } })).status === 200, 'publishing again');
      await waitFor(() => ticks.length === 1, 'the publication on the retried subscription', 5000);
      assert.deepEqual(ticks, [1]);
    } finally {
      client.close();
    }
  });

  it('when Redis hangs: 503 within the command timeout, /ready says so; on thaw all resumes without a reconnect', async () => {
    await using cluster = await startCluster(redis, 2);
    const [a, b] = cluster.nodes;
    const onA = feedClient(a, await a.token({ sub: 'u-a' }));
    const onB = feedClient(b, await b.token({ sub: 'u-b' }));
    try {
      await waitFor(() => onA.results.length === 1 && onB.results.length === 1, 'the subscriptions');
      assert.equal((await publish(a, 1, 'k1')).status, 200);
      await waitFor(() => onA.ticks.length === 1 && onB.ticks.length === 1, 'publication 1');

      redis.freeze();
      try {
        const failed = await timedPublish(a, 2, 'k2');
        assert.equal(failed.status, 503);
        assert.ok(failed.ms < 3000, `publish answered after ${failed.ms} ms`);
        for (const node of [a, b]) {
          const r = await waitFor(async () => {
            const now = await readiness(node);
            return now.status === 503 ? now : undefined;
          }, '/ready to notice the hang', 5000);
          assert.equal(r.body.engine, 'unavailable');
        }
      } finally {
        redis.thaw();
      }
      for (const node of [a, b]) await waitFor(async () => (await readiness(node)).status === 200, '/ready 200 again', 10_000);
      // The publish that timed out may have been stored after all: retrying with its key is safe.
      const retried = await publish(a, 2, 'k2');
      assert.equal(retried.status, 200);
      assert.equal((await publish(b, 3, 'k3')).status, 200);
      await waitFor(() => onA.ticks.length >= 3 && onB.ticks.length >= 3, 'publications 2 and 3', 5000);
      await sleep(200);
      for (const c of [onA, onB]) {
        assert.deepEqual(c.ticks, [1, 2, 3]);
        assert.deepEqual(c.statuses, ['connecting', 'connected'], 'never disconnected');
        assert.deepEqual(c.gaps, []);
      }
    } finally {
      onA.client.close();
      onB.client.close();
    }
  });

  it('repairs live delivery from history when the pub/sub connections drop, without reconnecting clients', async () => {
    await using cluster = await startCluster(redis, 2);
    const [a, b] = cluster.nodes;
    const onB = feedClient(b, await b.token({ sub: 'u-b' }));
    const sse = new SseTestClient(`${b.url}/sse?channels=feed`, { authorization: `Bearer ${await b.token({ sub: 'u-sse' })}` });
    const sseTicks = () => sse.events.filter((e) => e.event === 'tick').map((e) => (JSON.parse(e.data) as { data: { i: number } }).data.i);
    try {
      await sse.next((e) => e.event === 'connected');
      await waitFor(() => onB.results.length === 1, 'the subscription');
      const total = 200;
      let published = 0;
      const publishing = (async () => {
        for (const i of range(1, total)) {
          const { status, body } = await publish(a, i);
          assert.equal(status, 200, JSON.stringify(body));
          published = i;
          await sleep(1);
        }
      })();
      await waitFor(() => onB.ticks.length >= 40, 'the first publications');
      // Every node's pub/sub connection is cut; publishing goes on through the command connections.
      const killed = await redis.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
      assert.equal(killed, ':2');
      const atCut = published;
      await publishing;
      assert.ok(published > atCut);
      await waitFor(() => onB.ticks.length >= total && sseTicks().length >= total, `${total} publications`, 10_000);
      await sleep(200);
      assert.deepEqual(onB.ticks, range(1, total));
      assert.deepEqual(sseTicks(), range(1, total));
      assert.deepEqual(onB.statuses, ['connecting', 'connected'], 'the client never reconnected');
      assert.equal(onB.results.length, 1);
      assert.equal(sse.events.some((e) => e.event === 'not_recovered'), false);
    } finally {
      onB.client.close();
      sse.close();
    }
  });
});
