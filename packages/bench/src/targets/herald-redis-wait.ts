// One Herald node on a Redis master with one replica, with and without WAIT-based durability
// (engine.redis.waitReplicas): the pair shows what acknowledging a publish only once the replica
// has it costs, everything else equal (the replica is there in both).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Child } from '../processes.js';
import type { RunningTarget, StartOptions, Target } from '../target.js';
import { HOST, running, startNode } from './herald.js';
import { startRedis } from './redis.js';

async function startReplicated(name: string, options: StartOptions, waitReplicas: number): Promise<RunningTarget> {
  const master = await startRedis(HOST);
  const helpers: Child[] = [master.redis];
  try {
    const { port } = new URL(master.url);
    // Its own directory: a replica writes the master's snapshot to disk while it syncs.
    const replica = await startRedis(HOST, ['--replicaof', HOST, port, '--dir', mkdtempSync(join(tmpdir(), 'herald-bench-replica-'))]);
    helpers.push(replica.redis);
    const env = { HERALD_ENGINE: 'redis', REDIS_URL: master.url, REDIS_WAIT_REPLICAS: String(waitReplicas) };
    const node = await startNode(name, options, env);
    return running([node], { dialect: 'herald-ws', path: '/ws?token={token}' }, helpers);
  } catch (err) {
    await Promise.all(helpers.map((h) => h.stop()));
    throw err;
  }
}

export const heraldRedisReplica: Target = {
  name: 'herald-redis-replica',
  peer: false,
  nodes: 1,
  onlyNamed: true,
  description: 'Herald, 1 node on a Redis master with a replica, acknowledged once the master has it',
  start: (options) => startReplicated('herald-redis-replica', options, 0),
};

export const heraldRedisWait: Target = {
  name: 'herald-redis-wait',
  peer: false,
  nodes: 1,
  onlyNamed: true,
  description: 'Herald, 1 node on a Redis master with a replica, acknowledged once the replica has it (waitReplicas: 1)',
  start: (options) => startReplicated('herald-redis-wait', options, 1),
};
