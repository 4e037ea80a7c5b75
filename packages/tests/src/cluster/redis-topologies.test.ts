import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Gap } from '@herald/client';
import type { RedisEngineOptions } from '@herald/server';
import {
  type HeraldFixture,
  type RedisCluster,
  type RedisSentinelGroup,
  type RedisServer,
  REDIS_CLI_BIN,
  redisClusterAvailable,
  startRedisCluster,
  startRedisSentinel,
} from '@herald/server/testing';
import { range, startClusterOn } from '../support/cluster.js';
import { testClient } from '../support/herald-client.js';
import { describeRequiring } from '../support/requires.js';
import { sleep, waitFor } from '../support/wait.js';

const missing = redisClusterAvailable() ? undefined : `redis-server or redis-cli (${REDIS_CLI_BIN}) not found: set REDIS_SERVER / REDIS_CLI or install redis-server`;

interface Deployment {
  engine: Partial<RedisEngineOptions>;
  /** Kills the master that holds the channel `default:<channel>`. */
  killMasterOf(channel: string): Promise<void>;
  /** Resolves once a replica has taken over. */
  recovered(): Promise<void>;
  /** A channel whose master is not the one `killMasterOf(channel)` kills, when the deployment has several. */
  elsewhere?(channel: string): Promise<string>;
}

/** Publishes through the nodes in turn, each publication retried with its idempotency key until acknowledged. */
class Publisher {
  readonly statuses: number[] = [];
  private next = 1;

  constructor(private readonly nodes: HeraldFixture[]) {}

  get published(): number {
    return this.next - 1;
  }

  async publish(channel: string, deadlineMs = 30_000): Promise<number> {
    const i = this.next++;
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 0; ; attempt++) {
      const node = this.nodes[(i + attempt) % this.nodes.length];
      const { status, body } = await node.api('POST', '/api/v1/publish', { channel, event: 'tick', data: { i }, idempotencyKey: `${channel}-${i}` });
      this.statuses.push(status);
      if (status === 200) return i;
      assert.equal(status, 503, `publish ${i}: ${status} ${JSON.stringify(body)}`);
      assert.ok(Date.now() < deadline, `publish ${i} still refused after ${deadlineMs} ms`);
      await sleep(100);
    }
  }
}

/**
 * Three Herald nodes on the deployment, clients on two of them; the master of a channel is
 * killed while its publisher keeps going.
 */
function runThreeNodes(setup: () => Deployment): void {
  it('three nodes fan out; a master killed while publishing: 503 then success on retry, clients told they cannot recover, delivery goes on', async () => {
    const deployment = setup();
    await using cluster = await startClusterOn(deployment.engine, 3);
    const [a, b, c] = cluster.nodes;
    const calm = deployment.elsewhere ? await deployment.elsewhere('feed') : undefined;

    const clients = [testClient(a.wsUrl, { token: await a.token({ sub: 'on-a' }) }), testClient(c.wsUrl, { token: await c.token({ sub: 'on-c' }) })];
    const ticks = clients.map(() => [] as number[]);
    const calmTicks = clients.map(() => [] as number[]);
    const gaps = clients.map(() => [] as Gap[]);
    const calmGaps: Gap[] = [];
    const subscribed = clients.map(() => 0);
    clients.forEach((client, n) => {
      const feed = client.subscribe('feed');
      feed.on('tick', (data) => ticks[n].push((data as { i: number }).i));
      feed.onGap((gap) => gaps[n].push(gap));
      feed.onSubscribed(() => (subscribed[n] += 1));
      if (calm) {
        const other = client.subscribe(calm);
        other.on('tick', (data) => calmTicks[n].push((data as { i: number }).i));
        other.onGap((gap) => calmGaps.push(gap));
        other.onSubscribed(() => (subscribed[n] += 1));
      }
    });
    const feedPublisher = new Publisher([a, b, c]);
    const calmPublisher = new Publisher([c, b, a]);
    try {
      await waitFor(() => subscribed.every((s) => s === (calm ? 2 : 1)), 'the subscriptions', 10_000);
      // Across three nodes: published through each in turn, received by clients on A and C.
      for (const _ of range(1, 9)) await feedPublisher.publish('feed');
      await waitFor(() => ticks.every((t) => t.length === 9), 'publications 1-9 on both clients', 10_000);
      for (const t of ticks) assert.deepEqual(t, range(1, 9));

      await deployment.killMasterOf('feed');
      let switching = true;
      const publishing = (async () => {
        while (switching) {
          await feedPublisher.publish('feed');
          if (calm) await calmPublisher.publish(calm);
          await sleep(20);
        }
      })();
      try {
        await deployment.recovered();
        const atRecovery = feedPublisher.published;
        await waitFor(() => feedPublisher.published >= atRecovery + 10, 'publications after the switch', 30_000);
      } finally {
        switching = false;
        await publishing;
      }

      // Publishes during the switch were refused with 503, and each succeeded on a retry.
      assert.ok(feedPublisher.statuses.includes(503), 'the switch refused some publishes');
      assert.deepEqual([...new Set(feedPublisher.statuses)].sort(), [200, 503]);

      // The clients are told the stream was reset (what replication lost cannot be replayed), and go on receiving.
      const last = feedPublisher.published;
      await waitFor(() => ticks.every((t) => t.includes(last)), 'the last publication on both clients', 15_000).catch((err: Error) => {
        const seen = ticks.map((t, n) => ({ count: t.length, tail: t.slice(-3), gaps: gaps[n], state: clients[n].status }));
        throw new Error(`${err.message}: last ${last}, clients ${JSON.stringify(seen)}`);
      });
      for (const [n, list] of gaps.entries()) {
        assert.ok(list.length >= 1, `client ${n} told of the gap`);
        assert.equal(list[0].reason, 'epoch_changed');
        assert.ok(list[0].previous && list[0].previous.offset >= 9);
      }
      for (const t of ticks) assert.equal(new Set(t).size, t.length, 'no publication twice');

      if (calm) {
        // A channel on a master that stayed up loses nothing and hears of no gap.
        const lastCalm = calmPublisher.published;
        await waitFor(() => calmTicks.every((t) => t.length === lastCalm), `${calm}: every publication`, 15_000);
        for (const t of calmTicks) assert.deepEqual(t, range(1, lastCalm));
        assert.deepEqual(calmGaps, []);
      }
    } finally {
      for (const client of clients) client.close();
    }
  });
}

describeRequiring('cluster: Herald on a Redis Cluster (3 masters, 3 replicas)', missing, () => {
  let redis: RedisCluster;
  before(async () => {
    redis = await startRedisCluster();
  });
  after(async () => {
    await redis?.close();
  });

  runThreeNodes(() => {
    let killed: RedisServer | undefined;
    const masterOf = (channel: string) => redis.masterOf(`{default:${channel}}`);
    return {
      engine: { cluster: redis.nodes },
      async killMasterOf(channel) {
        killed = await masterOf(channel);
        await killed.stop('SIGKILL');
      },
      async recovered() {
        // Its replica promoted; the killed master stays down (its return is the engine tests' case).
        await waitFor(async () => (await redis.state()).some((n) => n.port === killed!.port && n.failed) || undefined, 'the master marked failed', 15_000);
        await redis.waitHealthy(30_000);
      },
      async elsewhere(channel) {
        const doomed = await masterOf(channel);
        for (let n = 1; ; n++) if ((await masterOf(`calm-${n}`)) !== doomed) return `calm-${n}`;
      },
    };
  });
});

describeRequiring('cluster: Herald on Redis Sentinel (a master, a replica, three sentinels)', missing, () => {
  let group: RedisSentinelGroup;
  before(async () => {
    group = await startRedisSentinel();
  });
  after(async () => {
    await group?.close();
  });

  runThreeNodes(() => {
    let killed: RedisServer | undefined;
    return {
      engine: { sentinels: group.sentinelNodes, masterName: group.masterName },
      async killMasterOf() {
        killed = await group.killMaster();
      },
      async recovered() {
        await group.recover(killed!);
      },
    };
  });
});
