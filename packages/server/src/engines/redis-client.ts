import { Redis, type RedisOptions } from 'ioredis';
import { asEngineError } from './redis-errors.js';

export interface RedisConnectionOptions {
  url?: string;
  host?: string;
  port?: number;
  password?: string;
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

export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers a Lua script (EVALSHA, falling back to EVAL after a Redis restart forgot it) and
 * returns a typed caller taking KEYS then ARGV; with `numberOfKeys` 'varying', the number of
 * KEYS first. Its failures are sorted by asEngineError.
 */
export function defineScript(redis: Redis, name: string, lua: string, numberOfKeys: number | 'varying'): ScriptCall {
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

  constructor(private readonly redis: Redis) {
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
