import { Cluster } from 'ioredis';
import type { Engine, EngineHandler, ExpiredEntry } from '../engine.js';
import { RedisBroker } from './redis-broker.js';
import { type RedisClient, RunId, createRedisConnection, quit } from './redis-client.js';
import { createRedisClusterConnection, mastersReady } from './redis-cluster-client.js';
import { RedisShardedSubscriber } from './redis-sharded-subscriber.js';
import { sorted } from './redis-errors.js';
import { RedisKeys } from './redis-keys.js';
import { RedisLocks } from './redis-locks.js';
import { Refresher } from './redis-refresher.js';
import { RedisConnections, RedisPresence } from './redis-presence.js';
import { RedisStreams } from './redis-streams.js';
import { type PubSubFeed, RedisSubscriber } from './redis-subscriber.js';

export interface RedisEngineOptions {
  /** `redis://[:password@]host:port[/db]` (`rediss://` for TLS). host, port and password fill in what it leaves out. */
  url?: string;
  host?: string;
  port?: number;
  password?: string;
  /**
   * `host:port` of some nodes of a Redis Cluster (7.0 or later): Herald runs on the cluster, one
   * channel's keys and scripts in one slot, fan-out over sharded pub/sub. `url`, `host` and `port`
   * are then ignored.
   */
  cluster?: string[];
  /** `host:port` of Redis Sentinels, with `masterName`: Herald connects to the master they name and follows failovers. */
  sentinels?: string[];
  /** The master group the sentinels watch. */
  masterName?: string;
  sentinelPassword?: string;
  /**
   * Acknowledge a publish only once this many replicas have it (`WAIT`); 0 (default) acknowledges
   * once the master has it. See runWithReplicas for what a shortfall means.
   */
  waitReplicas?: number;
  /** How long a publish waits for `waitReplicas`, in ms. Default 500. */
  waitTimeoutMs?: number;
  /** Prefix of every key and pub/sub channel, so several deployments can share a Redis. Default `herald:`. */
  prefix?: string;
  /**
   * How long presence and connection entries outlive their node's last refresh, in ms: the bound
   * on how long a crashed node's connections stay visible. The node refreshes every third of it.
   * Default 30 s.
   */
  presenceTtlMs?: number;
  /** A Redis command without a reply after this many ms fails. Default 1 s. */
  commandTimeoutMs?: number;
  /**
   * How often an idle node pings Redis, in ms, so that a Redis that hangs with its connections
   * open (no reply, no close) makes `isReady()` false within about this plus the command timeout.
   * Default 1 s.
   */
  probeIntervalMs?: number;
  /** How long `start()` waits for Redis before it rejects, in ms. Default 10 s. */
  startTimeoutMs?: number;
  /** How long a stream created by a history read (no publish yet) keeps its epoch, in ms. Default 1 day. */
  defaultMetaTtlMs?: number;
  /** Errors that happen in the background (connection loss, failed refresh). Default: ignored. */
  onError?: (err: Error) => void;
}

/**
 * The Redis engine: N nodes sharing one Redis act as one. Pub/sub fans publications out (a node
 * subscribes only to keys it has local subscribers for), Streams keep history, expiring hashes
 * and sorted sets hold presence and the connection registry. Commands fail fast while Redis is
 * unreachable; the engine reconnects and resubscribes on its own.
 *
 * The hub should leave presence and remove its connections before `close()`; whatever it leaves
 * behind expires within `presenceTtlMs`, as a crashed node's entries do.
 *
 * @example
 * const engine = createRedisEngine({ url: 'redis://127.0.0.1:6379', prefix: 'herald:' });
 * await engine.start(node);
 */
export function createRedisEngine(options: RedisEngineOptions = {}): Engine {
  const onError = options.onError ?? (() => undefined);
  const presenceTtlMs = Math.max(1, Math.floor(options.presenceTtlMs ?? 30_000));
  const connection = {
    url: options.url,
    host: options.host,
    port: options.port,
    password: options.password,
    sentinels: options.sentinels,
    masterName: options.masterName,
    sentinelPassword: options.sentinelPassword,
    commandTimeoutMs: options.commandTimeoutMs ?? 1000,
    onError,
  };
  const clustered = (options.cluster?.length ?? 0) > 0;
  const names = new RedisKeys(options.prefix ?? 'herald:', clustered);
  let command: RedisClient;
  let subscriber: PubSubFeed;
  if (clustered) {
    const cluster = createRedisClusterConnection({ nodes: options.cluster!, password: options.password, commandTimeoutMs: connection.commandTimeoutMs, onError }, 'herald-command');
    command = cluster;
    subscriber = new RedisShardedSubscriber(cluster, names, { password: options.password, commandTimeoutMs: connection.commandTimeoutMs, onError });
  } else {
    command = createRedisConnection(connection, 'herald-command');
    subscriber = new RedisSubscriber(createRedisConnection(connection, 'herald-subscriber'), names, onError);
  }
  const runId = new RunId(command);
  const replicaWait = (options.waitReplicas ?? 0) > 0 ? { replicas: Math.floor(options.waitReplicas!), timeoutMs: Math.max(1, Math.floor(options.waitTimeoutMs ?? 500)) } : undefined;
  const broker = new RedisBroker(command, names, runId, subscriber, options.defaultMetaTtlMs ?? 24 * 3600_000, replicaWait);
  const presence = new RedisPresence(command, names, presenceTtlMs);
  const connections = new RedisConnections(command, names, presenceTtlMs);

  let handler: EngineHandler | undefined;
  const refresher = new Refresher(presenceTtlMs / 3, async () => {
    // Entries a crashed node left behind expire here; the handler announces the departures.
    const report = (entry: ExpiredEntry) => handler?.onExpired?.(entry);
    await presence.refresh(report);
    await connections.refresh(report);
  }, onError);
  // After a reconnect Redis may have lost everything (restart, failover): re-register at once.
  command.on('ready', () => refresher.now());

  // A hung Redis keeps its sockets open: only a command without an answer tells.
  let answering = true;
  const probe = new Refresher(options.probeIntervalMs ?? 1000, async () => {
    if (command.status !== 'ready') return;
    try {
      await command.ping();
      answering = true;
    } catch (err) {
      answering = false;
      throw err;
    }
  }, onError);
  command.on('ready', () => (answering = true));

  let closed = false;
  const isReady = (): boolean => !closed && answering && runId.known && subscriber.ready && command.status === 'ready';

  return {
    name: 'redis',
    broker,
    presence,
    connections,
    locks: new RedisLocks(command, names),
    streams: new RedisStreams(command, names, runId, options.defaultMetaTtlMs ?? 24 * 3600_000),
    resumeRecords: {
      async save(id, record, ttlMs) {
        await sorted(command.set(names.resumeRecord(id), record, 'PX', Math.max(1, Math.round(ttlMs))));
      },
      async load(id) {
        return (await sorted(command.get(names.resumeRecord(id)))) ?? undefined;
      },
      async remove(id) {
        await sorted(command.del(names.resumeRecord(id)));
      },
    },
    async start(node: EngineHandler) {
      handler = node;
      subscriber.start(node);
      const timeoutMs = options.startTimeoutMs ?? 10_000;
      try {
        // A failed first attempt is retried like any lost connection; wait for the outcome.
        command.connect().catch(() => undefined);
        subscriber.connect();
        await until(() => isReady() && (!(command instanceof Cluster) || mastersReady(command)), timeoutMs);
      } catch (err) {
        command.disconnect();
        await subscriber.close();
        throw new Error(`Redis engine could not connect: ${(err as Error).message}`, { cause: err });
      }
      refresher.start();
      probe.start();
    },
    isReady,
    async close() {
      closed = true;
      refresher.stop();
      probe.stop();
      await Promise.all([quit(command), subscriber.close()]);
    },
  };
}

/** Resolves when the condition holds; rejects after the timeout. */
async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
