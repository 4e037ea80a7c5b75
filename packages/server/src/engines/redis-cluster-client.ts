import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import { parseHostPort } from './redis-client.js';

export interface RedisClusterConnectionOptions {
  /** `host:port` of some of the cluster's nodes; the client learns the rest from them. */
  nodes: string[];
  password?: string;
  /** A command without a reply after this many ms fails. */
  commandTimeoutMs: number;
  onError: (err: Error) => void;
}

/**
 * The command connection to a Redis Cluster, set up as createRedisConnection sets up one
 * connection: no offline queue and no resend of a command that may have run (a failover's
 * "connection closed" fails the call instead of retrying it on the new master). Redirections
 * (MOVED, ASK), TRYAGAIN and CLUSTERDOWN are followed or retried: the command did not run. The slot map is refreshed
 * every second, so a promoted replica or a moved slot is found without waiting for a MOVED.
 * Pub/sub goes through RedisShardedSubscriber, not this client.
 */
export function createRedisClusterConnection(options: RedisClusterConnectionOptions, name: string): Cluster {
  const cluster = new Cluster(options.nodes.map(parseHostPort), {
    lazyConnect: true,
    enableOfflineQueue: false,
    retryDelayOnFailover: 0,
    // CLUSTERDOWN is a refusal before anything ran (a master failed, its replica not yet promoted
    // everywhere): retried every 100 ms until the command timeout, as TRYAGAIN is.
    retryDelayOnClusterDown: 100,
    slotsRefreshInterval: 1000,
    slotsRefreshTimeout: Math.max(options.commandTimeoutMs, 1000),
    clusterRetryStrategy: (times: number) => Math.min(times * 100, 1000),
    redisOptions: {
      connectionName: name,
      ...(options.password !== undefined ? { password: options.password } : {}),
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    },
  });
  cluster.on('error', (err: Error) => options.onError(err));
  cluster.on('node error', (err: Error) => options.onError(err));
  // Node connections are made lazily, and one still connecting refuses commands (no offline
  // queue): connect each as soon as the client learns of it.
  cluster.on('+node', (node: Redis) => {
    if (node.status === 'wait') node.connect().catch(() => undefined);
  });
  // A node gone (a master killed) may mean a new owner for its slots: look now, not in a second.
  cluster.on('-node', () => {
    if (cluster.status === 'ready') cluster.refreshSlotsCache();
  });
  return cluster;
}

/** Whether the client knows the slot map and its connection to every master is up. */
export function mastersReady(cluster: Cluster): boolean {
  return cluster.status === 'ready' && cluster.nodes('master').every((node) => node.status === 'ready');
}

/** `host:port` of the master that owns a key's (or sharded channel's) slot, as the client knows it now. */
export function ownerOf(cluster: Cluster, key: string): string | undefined {
  return cluster.slots[calculateSlot(key)]?.[0];
}

/** The client's connection to a node, by `host:port`. */
export function nodeByKey(cluster: Cluster, nodeKey: string): Redis | undefined {
  return cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === nodeKey);
}

/** The slot of a key, as Redis Cluster computes it (its `{hash tag}` if it has one). */
export function slotOf(key: string): number {
  return calculateSlot(key);
}
