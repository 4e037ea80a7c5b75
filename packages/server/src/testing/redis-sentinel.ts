import { askRedis } from './redis-cluster.js';
import { type RedisServer, startRedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

/**
 * A disposable Sentinel deployment on 127.0.0.1: a master, a replica and three sentinels (quorum
 * 2) that declare the master down after a second without an answer and fail over to the replica.
 */
export interface RedisSentinelGroup {
  /** The servers that started as master and replica; after a failover their roles are swapped. */
  readonly servers: RedisServer[];
  readonly sentinels: RedisServer[];
  /** The master group name the sentinels monitor. */
  readonly masterName: string;
  /** `host:port` of every sentinel, for `engine.redis.sentinels`. */
  readonly sentinelNodes: string[];
  /** The server the sentinels name as master now. */
  currentMaster(): Promise<RedisServer>;
  /** SIGKILLs the current master; resolves with it. */
  killMaster(): Promise<RedisServer>;
  /** After killMaster: waits for the promotion, starts the killed server again (the sentinels make it a replica) and waits until all is healthy. */
  recover(killed: RedisServer): Promise<void>;
  /** Resolves once the sentinels name another master than `killed` (a replica promoted). */
  waitPromoted(killed: RedisServer, timeoutMs?: number): Promise<void>;
  /** Resolves once the sentinels name a live master that has a replica in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const MASTER_NAME = 'herald';

/**
 * Starts a Sentinel group for a test file. Call `close()` in `after`.
 *
 * @example
 * const group = await startRedisSentinel();
 * after(() => group.close());
 * createRedisEngine({ sentinels: group.sentinelNodes, masterName: group.masterName });
 */
export async function startRedisSentinel(): Promise<RedisSentinelGroup> {
  const servers: RedisServer[] = [];
  const sentinels: RedisServer[] = [];
  const close = async () => {
    await Promise.all([...sentinels, ...servers].map((s) => s.close()));
  };
  try {
    const master = await startRedisServer();
    servers.push(master);
    servers.push(await startRedisServer({ args: ['--replicaof', master.host, String(master.port)] }));
    const config = [
      'sentinel resolve-hostnames no',
      `sentinel monitor ${MASTER_NAME} ${master.host} ${master.port} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 3000`,
      `sentinel parallel-syncs ${MASTER_NAME} 1`,
      '',
    ].join('\n');
    for (let i = 0; i < 3; i++) sentinels.push(await startRedisServer({ config, args: ['--sentinel'], readyLine: '+monitor master' }));
  } catch (err) {
    await close();
    throw err;
  }
  const ask = askRedis;
  const liveSentinels = () => sentinels.filter((s) => s.running);
  const group: RedisSentinelGroup = {
    servers,
    sentinels,
    masterName: MASTER_NAME,
    sentinelNodes: sentinels.map((s) => `${s.host}:${s.port}`),
    async currentMaster() {
      const [, port] = await ask<[string, string]>(liveSentinels()[0], 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME);
      return servers.find((s) => s.port === Number(port))!;
    },
    async killMaster() {
      const master = await group.currentMaster();
      await master.stop('SIGKILL');
      return master;
    },
    async recover(killed) {
      await group.waitPromoted(killed);
      await killed.start();
      await group.waitHealthy(30_000);
    },
    async waitPromoted(killed, timeoutMs = 20_000) {
      await waitFor(async () => (await group.currentMaster().catch(() => killed)) !== killed || undefined, 'a replica promoted', timeoutMs);
    },
    async waitHealthy(timeoutMs = 20_000) {
      await waitFor(
        async () => {
          try {
            const master = await group.currentMaster();
            if (!master?.running) return undefined;
            const info = await ask<string>(master, 'INFO', 'replication');
            if (!/role:master/.test(info) || !/slave0:.*state=online/.test(info)) return undefined;
            // Every sentinel knows the replica and the two other sentinels: a failover can be agreed on.
            for (const sentinel of liveSentinels()) {
              const replicas = await ask<unknown[]>(sentinel, 'SENTINEL', 'REPLICAS', MASTER_NAME);
              const peers = await ask<unknown[]>(sentinel, 'SENTINEL', 'SENTINELS', MASTER_NAME);
              const [, port] = await ask<[string, string]>(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME);
              if (replicas.length < 1 || peers.length < liveSentinels().length - 1 || Number(port) !== master.port) return undefined;
            }
            return true;
          } catch {
            return undefined;
          }
        },
        'a healthy Sentinel group',
        timeoutMs,
      );
    },
    close,
  };
  await group.waitHealthy();
  return group;
}
