import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_SERVER_BIN, type RedisServer, freePort, startRedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

/** redis-cli, next to the redis-server the tests run. */
export const REDIS_CLI_BIN = process.env.REDIS_CLI ?? join(dirname(REDIS_SERVER_BIN), 'redis-cli');

/** Whether a local Redis Cluster can be started: redis-server and redis-cli. */
export function redisClusterAvailable(): boolean {
  return existsSync(REDIS_SERVER_BIN) && existsSync(REDIS_CLI_BIN);
}

/** A node of a local Redis Cluster as `CLUSTER NODES` describes it. */
export interface ClusterNodeState {
  id: string;
  port: number;
  role: 'master' | 'slave';
  failed: boolean;
  /** The master's id, for a replica. */
  masterId?: string;
}

/**
 * A disposable Redis Cluster on 127.0.0.1: `masters` masters with one replica each, free ports,
 * failure detection within a second (`cluster-node-timeout` 1000).
 */
export interface RedisCluster {
  readonly servers: RedisServer[];
  /** `host:port` of every node, for `engine.redis.cluster`. */
  readonly nodes: string[];
  /** The nodes as one of them sees them now. */
  state(): Promise<ClusterNodeState[]>;
  /** The server answering for a key's slot now. */
  masterOf(key: string): Promise<RedisServer>;
  /** Resolves once every live node reports `cluster_state:ok` and agrees on the masters. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Moves `slot` to the master on `toPort` (CLUSTER SETSLOT / MIGRATE, as `redis-cli --cluster reshard` does). */
  moveSlot(slot: number, toPort: number): Promise<void>;
  close(): Promise<void>;
}

const NODE_TIMEOUT_MS = 1000;

/**
 * Starts a Redis Cluster for a test file (`redis-server --cluster-enabled yes`, then
 * `redis-cli --cluster create`). Call `close()` in `after`.
 *
 * @example
 * const cluster = await startRedisCluster();
 * after(() => cluster.close());
 * createRedisEngine({ cluster: cluster.nodes });
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  const close = async () => {
    await Promise.all(servers.map((s) => s.close()));
  };
  try {
    for (let i = 0; i < masters * 2; i++) {
      const busPort = await freePort('127.0.0.1');
      servers.push(
        await startRedisServer({
          args: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
            '--cluster-port', String(busPort),
            // A replica takes over however far behind it is: the tests kill masters mid-write.
            '--cluster-replica-validity-factor', '0',
          ],
        }),
      );
    }
    await createCluster(servers.map((s) => `${s.host}:${s.port}`));
  } catch (err) {
    await close();
    throw err;
  }
  const ask = askRedis;
  const live = () => servers.filter((s) => s.running);
  const state = async (): Promise<ClusterNodeState[]> => parseNodes(await ask<string>(live()[0], 'CLUSTER', 'NODES'));
  const byPort = (port: number) => servers.find((s) => s.port === port)!;

  const cluster: RedisCluster = {
    servers,
    nodes: servers.map((s) => `${s.host}:${s.port}`),
    state,
    async masterOf(key) {
      const slot = await ask<number>(live()[0], 'CLUSTER', 'KEYSLOT', key);
      const slots = await ask<[number, number, [string, number]][]>(live()[0], 'CLUSTER', 'SLOTS');
      const range = slots.find(([from, to]) => slot >= from && slot <= to)!;
      return byPort(Number(range[2][1]));
    },
    async waitHealthy(timeoutMs = 20_000) {
      await waitFor(
        async () => {
          try {
            const views = await Promise.all(live().map(async (s) => [await ask<string>(s, 'CLUSTER', 'INFO'), parseNodes(await ask<string>(s, 'CLUSTER', 'NODES'))] as const));
            const replication = await Promise.all(live().map((s) => ask<string>(s, 'INFO', 'replication')));
            // Every replica in sync with its master: a failover has someone to promote, WAIT someone to count.
            const synced = replication.every((info) => info.includes('role:master') || info.includes('master_link_status:up'));
            const ok = synced && views.every(([info]) => info.includes('cluster_state:ok'));
            const mastersSeen = views.map(([, nodes]) => nodes.filter((n) => n.role === 'master' && !n.failed).map((n) => n.port).sort().join(','));
            return ok && new Set(mastersSeen).size === 1 ? true : undefined;
          } catch {
            return undefined;
          }
        },
        'a healthy Redis Cluster',
        timeoutMs,
      );
    },
    async moveSlot(slot, toPort) {
      const nodes = await state();
      const target = nodes.find((n) => n.port === toPort)!;
      const slots = await ask<[number, number, [string, number, string]][]>(live()[0], 'CLUSTER', 'SLOTS');
      const owner = slots.find(([from, to]) => slot >= from && slot <= to)![2];
      const source = byPort(Number(owner[1]));
      const sourceId = owner[2];
      const destination = byPort(toPort);
      await ask(destination, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId);
      await ask(source, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
      for (;;) {
        const keys = await ask<string[]>(source, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100');
        if (keys.length === 0) break;
        await ask(source, 'MIGRATE', destination.host, String(destination.port), '', '0', '5000', 'KEYS', ...keys);
      }
      for (const server of servers.filter((s) => s.running)) {
        const role = nodes.find((n) => n.port === server.port);
        if (role?.role === 'master' && !role.failed) await ask(server, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id);
      }
      // Replicas learn the move by gossip: wait until every node names the new owner.
      await waitFor(
        async () => {
          const views = await Promise.all(live().map((server) => ask<[number, number, [string, number]][]>(server, 'CLUSTER', 'SLOTS')));
          return views.every((view) => Number(view.find(([from, to]) => slot >= from && slot <= to)?.[2][1]) === toPort) || undefined;
        },
        `slot ${slot} owned by :${toPort} in every node's view`,
        10_000,
      );
    },
    close,
  };
  await cluster.waitHealthy();
  return cluster;
}

/** Runs one command on a connection of its own and resolves with the whole reply (for admin commands with structured replies). */
export async function askRedis<T>(server: RedisServer, ...args: string[]): Promise<T> {
  const redis = new Redis({ host: server.host, port: server.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.call(args[0], ...args.slice(1))) as T;
  } finally {
    redis.disconnect();
  }
}

function createCluster(nodes: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const cli = spawn(REDIS_CLI_BIN, ['--cluster', 'create', ...nodes, '--cluster-replicas', '1', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    cli.stdout.on('data', (c) => (log += c));
    cli.stderr.on('data', (c) => (log += c));
    const timer = setTimeout(() => cli.kill('SIGKILL'), 30_000);
    cli.once('error', reject);
    cli.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`redis-cli --cluster create exited with ${code}:\n${log}`));
    });
  });
}

/** `CLUSTER NODES`: `<id> <ip:port@bus> <flags> <master> ...` per line. */
function parseNodes(text: string): ClusterNodeState[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, master] = line.split(' ');
      const port = Number(/:(\d+)@/.exec(address)?.[1]);
      const flagList = flags.split(',');
      return {
        id,
        port,
        role: flagList.includes('master') ? 'master' : 'slave',
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        ...(master !== '-' ? { masterId: master } : {}),
      };
    });
}
