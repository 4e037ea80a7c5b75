import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { connectClient, SseTestClient, startRedisServer, TestClient, waitFor, within, type HeraldFixture, type RedisServer } from '@herald/server/testing';
import { describeWithRedis, startCluster } from '../support/cluster.js';

const AUDIT = { audit: { enabled: true, operatorTenant: 'ops' } };

async function auditReader(node: HeraldFixture, query = ''): Promise<TestClient> {
  const token = await node.token({ sub: 'root', tenant: 'ops', roles: ['admin'] });
  const reader = new TestClient(`${node.wsUrl}/ws/audit?token=${token}${query}`);
  await reader.opened();
  await reader.next((f) => f.type === 'subscribed');
  return reader;
}

const records = (reader: TestClient) => reader.frames.filter((f) => f.type === 'audit').map((f) => f.record);

describeWithRedis('cluster: the audit feed on Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it('shows an admin on one node the records of both nodes, over WebSocket and SSE', async () => {
    await using cluster = await startCluster(redis, 2, AUDIT);
    const [a, b] = cluster.nodes;
    const onA = await auditReader(a, '&types=connect,publish,disconnect');
    const sse = new SseTestClient(`${a.url}/api/v1/audit/events?types=connect&token=${await a.token({ sub: 'root', tenant: 'ops', roles: ['admin'] })}`);
    for (const [node, sub] of [[a, 'ann'], [b, 'bob']] as const) {
      const client = await connectClient(node.wsUrl, await node.token({ sub, tenant: 'acme' }));
      await client.request({ type: 'publish', channel: `desk:${sub}`, event: 'note', data: sub });
      client.close();
      await client.closed;
    }
    await waitFor(() => records(onA).filter((r) => r.type === 'disconnect').length === 2, 'both disconnects on node A');
    const byNode = (node: HeraldFixture) => records(onA).filter((r) => r.node === node.server.node.cluster.nodeId).map((r) => [r.type, r.userId, r.channels?.[0]]);
    assert.deepEqual(byNode(a), [['connect', 'ann', undefined], ['publish', 'ann', 'desk:ann'], ['disconnect', 'ann', undefined]]);
    assert.deepEqual(byNode(b), [['connect', 'bob', undefined], ['publish', 'bob', 'desk:bob'], ['disconnect', 'bob', undefined]]);
    await waitFor(() => sse.events.filter((e) => e.event === 'audit').length === 2, 'both connects over SSE');
    assert.deepEqual(sse.events.filter((e) => e.event === 'audit').map((e) => JSON.parse(e.data).record.userId), ['ann', 'bob']);
    onA.close();
    sse.close();
  });

  it('gives a late joiner on the other node the kept records of both, and resumes it there', async () => {
    await using cluster = await startCluster(redis, 2, AUDIT);
    const [a, b] = cluster.nodes;
    for (const [node, sub] of [[a, 'ann'], [b, 'bob']] as const) {
      const client = await connectClient(node.wsUrl, await node.token({ sub, tenant: 'acme' }));
      client.close();
      await client.closed;
    }
    const late = await auditReader(b, '&types=connect');
    await waitFor(() => records(late).length === 2, 'the kept connects');
    assert.deepEqual(records(late).map((r) => r.userId).sort(), ['ann', 'bob']);
    const last = late.frames.filter((f) => f.type === 'audit').at(-1);
    late.close();
    const cid = await connectClient(a.wsUrl, await a.token({ sub: 'cid', tenant: 'acme' }));
    const back = await auditReader(a, `&types=connect&epoch=${last.epoch}&offset=${last.offset}`);
    await waitFor(() => records(back).length === 1, 'the connect it missed');
    assert.equal(records(back)[0].userId, 'cid');
    assert.equal(back.frames[0].recovery.recovered, true);
    cid.close();
    back.close();
  });

  it('through a Redis restart: records that could not be stored are counted, readers are sent to resume, and new records flow', async () => {
    await using cluster = await startCluster(redis, 2, AUDIT);
    const [a, b] = cluster.nodes;
    const reader = await auditReader(a, '&types=denial');
    b.server.node.events.emit('denial', { reason: 'origin', transport: 'test', detail: 'before' });
    await waitFor(() => records(reader).length === 1, 'the record from before');
    const before = reader.frames.filter((f) => f.type === 'audit').at(-1);

    await redis.stop();
    b.server.node.events.emit('denial', { reason: 'origin', transport: 'test', detail: 'during' });
    const unpublished = async () => (await b.server.metrics.registry.getSingleMetric('herald_audit_dropped_total')?.get())?.values.find((v) => v.labels.reason === 'unpublished')?.value ?? 0;
    await waitFor(async () => (await unpublished()) === 1, 'the record of the outage counted', 10_000);
    await redis.start();
    const ready = async (node: HeraldFixture) => (await fetch(`${node.url}/ready`)).status === 200;
    await waitFor(async () => (await ready(a)) && (await ready(b)), 'both nodes ready again', 10_000);

    // The restarted Redis lost the feed's history: the reader cannot be repaired and is sent to resume.
    assert.equal((await within(reader.closed, 10_000)).code, 1012);
    const back = await auditReader(a, `&types=denial&epoch=${before.epoch}&offset=${before.offset}`);
    assert.equal(back.frames[0].recovery.reason, 'epoch_changed');
    b.server.node.events.emit('denial', { reason: 'origin', transport: 'test', detail: 'after' });
    await waitFor(() => records(back).some((r) => r.detail === 'after'), 'a record after the restart', 5000);
    assert.ok(!records(back).some((r) => r.detail === 'during'));
    back.close();
  });
});
