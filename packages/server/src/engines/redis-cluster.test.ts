import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { describeWithRedisCluster } from '../testing/describe-with-cluster.js';
import { type RedisCluster, startRedisCluster } from '../testing/redis-cluster.js';
import { runEngineSuite } from './engine.case.js';
import { RedisKeys } from './redis-keys.js';
import { createRedisEngine } from './redis.js';

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
});
