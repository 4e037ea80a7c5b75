import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { describeWithRedisCluster } from '../testing/describe-with-cluster.js';
import { type RedisSentinelGroup, startRedisSentinel } from '../testing/redis-sentinel.js';
import type { RedisServer } from '../testing/redis-server.js';
import { runEngineSuite } from './engine.case.js';
import { runFailoverCase } from './failover.case.js';
import { runReplicaWaitCase } from './replica-wait.case.js';
import { RedisKeys } from './redis-keys.js';
import { createRedisEngine } from './redis.js';

/** The shared engine suite and a failover on a local Sentinel group: a master, a replica, three sentinels. */
describeWithRedisCluster('redis sentinel', () => {
  let group: RedisSentinelGroup;
  const prefix = `herald-test-${randomUUID().slice(0, 8)}:`;
  const create = () => createRedisEngine({ sentinels: group.sentinelNodes, masterName: group.masterName, prefix });

  before(async () => {
    group = await startRedisSentinel();
  });
  after(async () => {
    await group?.close();
  });

  runEngineSuite({
    name: 'redis sentinel',
    create,
    shared: true,
    deliversOnlySubscribed: true,
    async plantUnreadable(_engine, key) {
      const names = new RedisKeys(prefix);
      const master = await group.currentMaster();
      const offset = Number((await master.command('HINCRBY', names.meta(key), 'o', '1')).slice(1));
      await master.command('XADD', names.history(key), `${offset}-0`, 't', String(Date.now()), 'p', 'not json');
      return offset;
    },
  });

  describe('waitReplicas', () => {
    runReplicaWaitCase((waitReplicas, waitTimeoutMs) => createRedisEngine({ sentinels: group.sentinelNodes, masterName: group.masterName, prefix, waitReplicas, waitTimeoutMs }));
  });

  describe('failover', () => {
    let killed: RedisServer | undefined;
    runFailoverCase({
      create,
      async killMasterOf() {
        killed = await group.killMaster();
      },
      async recovered() {
        // The sentinels promote the replica; the killed master comes back and is made its replica.
        await group.recover(killed!);
      },
    });
  });
});
