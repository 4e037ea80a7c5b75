import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { describeWithRedisCluster } from '../testing/describe-with-cluster.js';
import { type RedisCluster, startRedisCluster } from '../testing/redis-cluster.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EngineUnavailableError, type Engine, type PublishOptions, type StoredPublication } from '../engine.js';
import { RecordingHandler, input, runEngineSuite, sleep, uniqueKey } from './engine.case.js';
import { slotOf } from './redis-cluster-client.js';
import { runFailoverCase } from './failover.case.js';
import { runReplicaWaitCase } from './replica-wait.case.js';
import { runStreamStoreSuite } from './stream-store.case.js';
import { RedisKeys } from './redis-keys.js';
import { createRedisEngine } from './redis.js';
import { waitFor } from '../testing/wait.js';

/** History long enough to hold every publication of the resharding case's new epoch. */
const OPTS: PublishOptions = { history: { size: 10_000, ttlMs: 300_000, metaTtlMs: 3_600_000 } };

/** The shared engine suite on a local Redis Cluster: 3 masters, 3 replicas, one cluster for every case. */
describeWithRedisCluster('redis cluster', () => {
  let cluster: RedisCluster;
  const prefix = `herald-test-${randomUUID().slice(0, 8)}:`;

  before(async () => {
    cluster = await startRedisCluster();
  });
  after(async () => {
    await cluster?.close();
  });

  runEngineSuite({
    name: 'redis cluster',
    create: () => createRedisEngine({ cluster: cluster.nodes, prefix }),
    shared: true,
    deliversOnlySubscribed: true,
    // Written by hand on the master of the key's slot, as another program could.
    async plantUnreadable(_engine, key) {
      const names = new RedisKeys(prefix, true);
      const master = await cluster.masterOf(names.meta(key));
      const offset = Number((await master.command('HINCRBY', names.meta(key), 'o', '1')).slice(1));
      await master.command('XADD', names.history(key), `${offset}-0`, 't', String(Date.now()), 'p', 'not json');
      return offset;
    },
  });

  // Backend streams: each write one script in the stream's home slot, chunks SPUBLISHed there.
  runStreamStoreSuite('redis cluster', () => createRedisEngine({ cluster: cluster.nodes, prefix }));

  describe('resharding', () => {
    const engines: Engine[] = [];
    after(async () => {
      for (const engine of engines.splice(0)) await engine.close();
    });

    it('moving a channel’s slot while publishing: the listener hears of the move, then receives every publication or can tell which it missed', async () => {
      // Each event notes how many publications had been started when it came.
      let started = 0;
      const events: { kind: 'interrupted' | 'resumed'; started: number }[] = [];
      const listener = Object.assign(new RecordingHandler(), {
        onInterrupted: () => events.push({ kind: 'interrupted', started }),
        onResumed: () => events.push({ kind: 'resumed', started }),
      });
      const publisher = createRedisEngine({ cluster: cluster.nodes, prefix });
      const listening = createRedisEngine({ cluster: cluster.nodes, prefix });
      engines.push(publisher, listening);
      await publisher.start(new RecordingHandler());
      await listening.start(listener);
      const key = uniqueKey('moved');
      const names = new RedisKeys(prefix, true);
      await listening.broker.subscribe(key);

      // One publication after another, each retried with its idempotency key until acknowledged;
      // `n` is its place in the order, taken before its first attempt.
      const acknowledged: { n: number; publication: StoredPublication }[] = [];
      const failures: Error[] = [];
      let stop = false;
      const publishing = (async () => {
        for (let i = 1; !stop; i++) {
          const n = ++started;
          for (;;) {
            try {
              const { publication } = await publisher.broker.publish(key, input(key, 'tick', { i }), { ...OPTS, idempotency: { key: `tick-${i}`, ttlMs: 60_000 } });
              acknowledged.push({ n, publication });
              break;
            } catch (err) {
              failures.push(err as Error);
              if (stop) return;
              await sleep(50);
            }
          }
          await sleep(10);
        }
      })();
      const lastResumed = () => events.findLast((e) => e.kind === 'resumed');
      try {
        await waitFor(() => acknowledged.length >= 10 || undefined, 'publications before the move', 10_000);
        const before = acknowledged[0].publication;
        await listener.waitPublications(key, 1);
        const from = await cluster.masterOf(names.meta(key));
        const to = (await cluster.state()).find((n) => n.role === 'master' && !n.failed && n.port !== from.port)!;
        await cluster.moveSlot(slotOf(names.meta(key)), to.port);
        assert.equal((await cluster.masterOf(names.meta(key))).port, to.port);
        await waitFor(() => lastResumed(), 'the listener resumed after the move', 15_000);
        const resumedAt = lastResumed()!.started;
        await waitFor(() => acknowledged.filter((a) => a.n > resumedAt).length >= 10 || undefined, 'publications after the move', 15_000);
        stop = true;
        await publishing;

        // A publish refused during the move failed as unavailable (503) and went through on retry.
        for (const failure of failures) assert.ok(failure instanceof EngineUnavailableError, `${failure.name}: ${failure.message}`);

        // The listener heard delivery stop, then come back, and is whole now.
        assert.equal(events[0]?.kind, 'interrupted', JSON.stringify(events));
        assert.equal(events.at(-1)?.kind, 'resumed', JSON.stringify(events));
        assert.equal(listening.isReady(), true);

        // Everything published after the last resume arrives.
        const resumed = lastResumed()!.started;
        const received = () => new Set(listener.publications(key).map((p) => p.id));
        await waitFor(
          () => acknowledged.every((a) => a.n <= resumed || received().has(a.publication.id)) || undefined,
          'every publication made after the resume delivered',
          10_000,
        );

        // Another Redis process holds the stream now: a new epoch, as after a failover (see docs/scaling.md).
        const last = acknowledged.at(-1)!.publication;
        assert.notEqual(last.epoch, before.epoch);
        assert.ok(listener.publications(key).some((p) => p.epoch === last.epoch), 'the listener receives the new epoch');

        // What did not arrive was published before the resume, so the repair that follows it
        // covers it: the new epoch's history has it, and one of the old epoch is reported as not
        // recovered (the listener sees the epoch change).
        const missed = acknowledged.filter((a) => !received().has(a.publication.id));
        for (const { n } of missed) assert.ok(n <= resumed, `publication ${n} missed though made after the resume`);
        const page = await publisher.broker.history(key, {});
        assert.equal(page.epoch, last.epoch);
        const stored = new Set(page.publications.map((p) => p.id));
        for (const { n, publication } of missed) {
          if (publication.epoch === page.epoch) assert.ok(stored.has(publication.id), `missed publication ${n} is in the new epoch's history`);
        }
      } finally {
        stop = true;
        await publishing.catch(() => undefined);
      }
    });
  });

  describe('waitReplicas', () => {
    runReplicaWaitCase((waitReplicas, waitTimeoutMs) => createRedisEngine({ cluster: cluster.nodes, prefix, waitReplicas, waitTimeoutMs }));
  });

  describe('failover', () => {
    let killed: RedisCluster['servers'][number] | undefined;
    runFailoverCase({
      create: () => createRedisEngine({ cluster: cluster.nodes, prefix }),
      async killMasterOf(key) {
        killed = await cluster.masterOf(new RedisKeys(prefix, true).meta(key));
        await killed.stop('SIGKILL');
      },
      async recovered() {
        // The replica is promoted; the killed master comes back and rejoins as its replica.
        await waitFor(async () => (await cluster.state()).some((n) => n.port === killed!.port && n.failed) || undefined, 'the master marked failed', 15_000);
        await killed!.start();
        await cluster.waitHealthy(30_000);
      },
    });
  });
});
