import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  connectClient,
  startRedisServer,
  startWebhookReceiver,
  TEST_API_KEY,
  TEST_WEBHOOK_SECRET,
  waitFor,
  type HeraldFixture,
  type RedisServer,
  type TestClient,
} from '@herald/server/testing';
import { CLUSTER_CHANNELS, describeWithRedis, startCluster } from '../support/cluster.js';

const webhookStats = async (node: HeraldFixture) => {
  const response = await fetch(`${node.url}/api/v1/stats/webhooks`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
  return (await response.json()) as { endpoints: { sent: number; failed: number; dropped: number }[] };
};

describeWithRedis('cluster: webhooks on two nodes', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it('sends each event once, from one node: its own connections’ events, and occupancy from the node that decided it', async () => {
    await using receiver = await startWebhookReceiver();
    await using cluster = await startCluster(redis, 2, {
      presence: { userEvents: false },
      // `quiet:*` keeps no presence of its own: occupancy is still decided in the engine.
      channels: { rules: [{ pattern: 'quiet:*', subscribe: 'all', publish: 'all' }, ...CLUSTER_CHANNELS!.rules!] },
      webhooks: { secret: TEST_WEBHOOK_SECRET, endpoints: [{ url: receiver.url, retry: { initialDelay: 50, maxDelay: 200 } }] },
    });
    const [a, b] = cluster.nodes;
    const clients: TestClient[] = [];
    try {
      for (const [node, sub] of [[a, 'ann'], [b, 'bob'], [b, 'cat'], [a, 'dan']] as const) clients.push(await connectClient(node.wsUrl, await node.token({ sub })));
      // Everyone subscribes at once, two on each node: exactly one of them occupies each channel.
      for (const channel of ['quiet:1', 'room:1']) {
        const replies = await Promise.all(clients.map((c) => c.request({ type: 'subscribe', channel })));
        assert.ok(replies.every((r) => r.result), JSON.stringify(replies));
      }
      const published = await clients[0].request({ type: 'publish', channel: 'quiet:1', event: 'note', data: { n: 1 } });
      await waitFor(() => receiver.ofType('client.published').length === 1 && receiver.ofType('presence.joined').length === 4, 'the publish and the joins');
      for (const c of clients) c.close();
      await waitFor(() => receiver.ofType('client.disconnected').length === 4 && receiver.ofType('channel.vacated').length === 2, 'the disconnects and vacancies');

      const count = (type: string) => receiver.ofType(type).length;
      assert.deepEqual(
        Object.fromEntries(['client.connected', 'channel.subscribed', 'channel.occupied', 'presence.joined', 'client.published', 'channel.unsubscribed', 'presence.left', 'channel.vacated', 'client.disconnected'].map((t) => [t, count(t)])),
        {
          'client.connected': 4,
          'channel.subscribed': 8,
          'channel.occupied': 2,
          'presence.joined': 4,
          'client.published': 1,
          'channel.unsubscribed': 8,
          'presence.left': 4,
          'channel.vacated': 2,
          'client.disconnected': 4,
        },
      );
      assert.deepEqual(receiver.ofType('channel.occupied').map((w) => w.data.channel).sort(), ['quiet:1', 'room:1']);
      assert.deepEqual(receiver.ofType('client.published')[0].data.id, published.result.id);
      assert.equal(new Set(receiver.ofType('client.connected').map((w) => w.data.connectionId)).size, 4);
      assert.deepEqual(receiver.rejected, []);
      // Nothing went out twice: the nodes' sent counts add up to what was received, each id once.
      assert.equal(new Set(receiver.accepted.map((w) => w.id)).size, receiver.accepted.length);
      await waitFor(async () => {
        const [sa, sb] = await Promise.all([webhookStats(a), webhookStats(b)]);
        return sa.endpoints[0].sent + sb.endpoints[0].sent === receiver.accepted.length;
      }, 'both nodes’ sent counts');
      const [sa, sb] = await Promise.all([webhookStats(a), webhookStats(b)]);
      // Each node sent its own two connections' lives at least: neither sent everything.
      assert.ok(sa.endpoints[0].sent >= 2 * 8 && sb.endpoints[0].sent >= 2 * 8, `${sa.endpoints[0].sent} + ${sb.endpoints[0].sent}`);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
