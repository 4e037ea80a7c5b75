import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { describeWithRedisCluster } from '../testing/describe-with-cluster.js';
import { type RedisCluster, startRedisCluster } from '../testing/redis-cluster.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EngineUnavailableError, type Engine, type PublishOptions } from '../engine.js';
import { RecordingHandler, input, runEngineSuite, sleep, uniqueKey } from './engine.case.js';
import { slotOf } from './redis-cluster-client.js';
import { runFailoverCase } from './failover.case.js';
import { runReplicaWaitCase } from './replica-wait.case.js';
import { runStreamStoreSuite } from './stream-store.case.js';
import { RedisKeys } from './redis-keys.js';
import { createRedisEngine } from './redis.js';
import { waitFor } from '../testing/wait.js';

const OPTS: PublishOptions = { history: { size: 100, ttlMs: 60_000, metaTtlMs: 3_600_000 } };

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

    // Known to fail: after the move the listener is subscribed on the new owner (PUBSUB SHARDCHANNELS
    // shows it) and resumed, yet the publications made there do not reach it. Run as a todo so it
    // is seen on every run until it passes.
    const known = 'publications made on the new owner after a slot move do not reach the listener yet';
    it('moving a channel’s slot while publishing: the listener keeps its subscription and hears of the move', { todo: known }, async () => {
      const events: string[] = [];
      const listener = Object.assign(new RecordingHandler(), { onInterrupted: () => events.push('interrupted'), onResumed: () => events.push('resumed') });
      const publisher = createRedisEngine({ cluster: cluster.nodes, prefix });
      const listening = createRedisEngine({ cluster: cluster.nodes, prefix });
      engines.push(publisher, listening);
      await publisher.start(new RecordingHandler());
      await listening.start(listener);
      const key = uniqueKey('moved');
      const names = new RedisKeys(prefix, true);
      await listening.broker.subscribe(key);
      const publishRetrying = async (event: string) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await publisher.broker.publish(key, input(key, event), OPTS);
          } catch (err) {
            assert.ok(err instanceof EngineUnavailableError && attempt < 50, String(err));
            await sleep(100);
          }
        }
      };
      const before = await publishRetrying('before');
      await listener.waitPublications(key, 1);
      const from = await cluster.masterOf(names.meta(key));
      const to = (await cluster.state()).find((n) => n.role === 'master' && !n.failed && n.port !== from.port)!;
      await cluster.moveSlot(slotOf(names.meta(key)), to.port);
      assert.equal((await cluster.masterOf(names.meta(key))).port, to.port);

      // Publishing goes on, on the new owner; the listener follows the channel there and
      // receives what is published after the move.
      let after = await publishRetrying('after');
      const deadline = Date.now() + 15_000;
      while (!listener.publications(key).some((p) => p.id === after.publication.id)) {
        if (Date.now() > deadline) {
          throw new Error(`no publication made after the move arrived within 15 s (listener events ${JSON.stringify(events)}, moved to :${to.port}, listener ready ${listening.isReady()})`);
        }
        await sleep(500);
        after = await publishRetrying('after');
      }
      assert.deepEqual(events.slice(0, 2), ['interrupted', 'resumed']);
      // Another Redis process holds the stream now: a new epoch, as after a failover (see docs/scaling.md).
      assert.notEqual(after.publication.epoch, before.publication.epoch);
      assert.equal(listening.isReady(), true);
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
