import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { asEngineError } from './redis-errors.js';

export interface RedisConnectionOptions {
  url?: string;
  host?: string;
  port?: number;
  password?: string;
  /** `host:port` of Redis Sentinels: the connection asks them for the master and follows its failovers. */
  sentinels?: string[];
  /** The master group the sentinels watch (with `sentinels`). */
  masterName?: string;
  sentinelPassword?: string;
  /** A command without a reply after this many ms fails (a hung or unreachable Redis). */
  commandTimeoutMs: number;
  onError: (err: Error) => void;
}

/** Reconnect quickly and keep trying forever: the engine must come back on its own. */
function retryStrategy(times: number): number {
  return Math.min(times * 100, 1000);
}

/**
 * One ioredis connection set up to fail fast: no offline queue, nothing queued or resent across
 * a reconnect (a publish the caller saw fail must not happen later behind its back), and no
 * automatic resubscribe (the subscriber resubscribes its own key set once it is ready).
 */
export function createRedisConnection(options: RedisConnectionOptions, name: string): Redis {
  const redisOptions: RedisOptions = {
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.sentinels?.length ? sentinelOptions(options) : {}),
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    retryStrategy,
  };
  const redis = options.url ? new Redis(options.url, redisOptions) : new Redis(redisOptions);
  redis.on('error', (err: Error) => options.onError(err));
  return redis;
}

/** The one Redis endpoint, or a Redis Cluster (see redis-cluster-client.ts): both take the same commands. */
export type RedisClient = Redis | Cluster;

/** `host:port` (IPv6 in brackets or bare) as ioredis wants it. */
export function parseHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(at + 1)) };
}

/**
 * Sentinel mode: ioredis asks the sentinels for the master, and asks again on every reconnect,
 * so a failover (the old master's connection drops) ends on the new master. ioredis's
 * `failoverDetector` is left off: its sentinel connections outlive `quit()`.
 */
function sentinelOptions(options: RedisConnectionOptions): RedisOptions {
  return {
    sentinels: options.sentinels!.map(parseHostPort),
    name: options.masterName,
    ...(options.sentinelPassword !== undefined ? { sentinelPassword: options.sentinelPassword } : {}),
    role: 'master',
    sentinelRetryStrategy: retryStrategy,
    // A replica that is not yet promoted answers READONLY: reconnect and ask the sentinels again.
    reconnectOnError: (err: Error) => /^READONLY/.test(err.message),
  };
}

export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers a Lua script (EVALSHA, falling back to EVAL after a Redis restart forgot it) and
 * returns a typed caller taking KEYS then ARGV; with `numberOfKeys` 'varying', the number of
 * KEYS first. Its failures are sorted by asEngineError.
 */
export function defineScript(redis: RedisClient, name: string, lua: string, numberOfKeys: number | 'varying'): ScriptCall {
  redis.defineCommand(name, numberOfKeys === 'varying' ? { lua } : { lua, numberOfKeys });
  const command = (redis as unknown as Record<string, ScriptCall>)[name];
  return async (...args) => {
    try {
      return await command.apply(redis, args);
    } catch (err) {
      throw asEngineError(err);
    }
  };
}

/**
 * The identity of the Redis process the command connection talks to (`run_id`, new on every
 * server start). Scripts compare it with the one stored in a stream's meta, so a restarted
 * Redis, even one that reloaded its data, starts new epochs. Fetched again after every reconnect;
 * `get()` waits for the fetch in flight rather than use a stale id.
 */
export class RunId {
  private value: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly redis: RedisClient) {
    // On a cluster each shard is a process of its own: the scripts read the run id of the one
    // they run on (they take '' for "ask the server"), so there is nothing to fetch.
    if (redis.isCluster) {
      this.value = '';
      return;
    }
    redis.on('ready', () => this.fetch());
    redis.on('close', () => {
      this.value = undefined;
      this.pending = undefined;
    });
  }

  get known(): boolean {
    return this.value !== undefined;
  }

  get(): Promise<string> {
    if (this.value !== undefined) return Promise.resolve(this.value);
    if (!this.pending && this.redis.status === 'ready') this.fetch();
    return (this.pending ?? Promise.reject(new Error('Redis engine unavailable: not connected'))).catch((err: unknown) => {
      throw asEngineError(err);
    });
  }

  private fetch(): void {
    const pending = this.redis.info('server').then(
      (info) => /run_id:(\w+)/.exec(info)?.[1] ?? 'unknown',
      (err: Error) => {
        // A server that refuses INFO (ACL, renamed command) still works, without restart detection.
        if (err.name === 'ReplyError') return 'unknown';
        throw err;
      },
    );
    this.pending = pending;
    pending.then(
      (id) => {
        if (this.pending === pending) this.value = id;
      },
      () => {
        if (this.pending === pending) this.pending = undefined;
      },
    );
  }
}

/** Closes a connection, politely when it is up (pending replies arrive first). */
export async function quit(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // Fall through: drop it.
    }
  }
  redis.disconnect();
}
