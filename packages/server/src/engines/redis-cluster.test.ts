import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { describeWithRedisCluster } from '../testing/describe-with-cluster.js';
import { type RedisCluster, startRedisCluster } from '../testing/redis-cluster.js';
import { describe } from 'node:test';
import { runEngineSuite } from './engine.case.js';
import { runFailoverCase } from './failover.case.js';
import { runReplicaWaitCase } from './replica-wait.case.js';
import { RedisKeys } from './redis-keys.js';
import { createRedisEngine } from './redis.js';
import { waitFor } from '../testing/wait.js';

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
