import type { Redis } from 'ioredis';
import type { ChannelKey, EngineHandler } from '../engine.js';
import { decodeChannelMessages, decodeControl } from './redis-codec.js';
import { sorted } from './redis-errors.js';
import type { RedisKeys } from './redis-keys.js';
import { quit } from './redis-client.js';

/** How a node receives pub/sub: one connection (RedisSubscriber) or one per cluster shard (RedisShardedSubscriber). */
export interface PubSubFeed {
  start(handler: EngineHandler): void;
  /** Starts connecting; a failed attempt is retried like a lost connection. */
  connect(): void;
  /** True once every wanted channel is subscribed (again). */
  readonly ready: boolean;
  subscribe(key: ChannelKey): Promise<void>;
  unsubscribe(key: ChannelKey): Promise<void>;
  close(): Promise<void>;
}

/** How many channels one SUBSCRIBE carries when resubscribing after a reconnect. */
const RESUBSCRIBE_BATCH = 500;

/**
 * The node's dedicated pub/sub connection. It is subscribed to the control channel and to the
 * keys this node has local subscribers for, and nothing else. After a reconnect it subscribes
 * to all of them again before it reports ready. Messages published while it was away are lost
 * (pub/sub is at most once): the handler hears `onInterrupted` when the connection drops and
 * `onResumed` once every key is subscribed again, and repairs from history in between.
 */
export class RedisSubscriber implements PubSubFeed {
  private handler: EngineHandler | undefined;
  /** Keys wanted by the node, with the SUBSCRIBE that made (or is making) them active. */
  private readonly keys = new Map<ChannelKey, Promise<void>>();
  private resubscribed = false;
  private connected = false;

  constructor(
    private readonly redis: Redis,
    private readonly names: RedisKeys,
    private readonly onError: (err: Error) => void,
  ) {
    redis.on('message', (channel: string, payload: string) => this.dispatch(channel, payload));
    redis.on('ready', () => {
      this.connected = true;
      void this.resubscribe();
    });
    redis.on('close', () => {
      // Once per lost connection: a reconnect attempt that fails closes again without news.
      if (this.connected) this.handler?.onInterrupted?.();
      this.connected = false;
      this.resubscribed = false;
    });
  }

  start(handler: EngineHandler): void {
    this.handler = handler;
  }

  /** True once the connection is up and every wanted channel is subscribed again. */
  get ready(): boolean {
    return this.resubscribed && this.redis.status === 'ready';
  }

  /** See Broker.subscribe. Fails at once while Redis is unreachable. */
  subscribe(key: ChannelKey): Promise<void> {
    const existing = this.keys.get(key);
    if (existing) return existing;
    const subscribed = sorted(this.redis.subscribe(this.names.channel(key))).then(() => undefined);
    this.keys.set(key, subscribed);
    subscribed.catch(() => {
      // A failed subscribe leaves the key unsubscribed, as the caller was told.
      if (this.keys.get(key) === subscribed) this.keys.delete(key);
    });
    return subscribed;
  }

  /** See Broker.unsubscribe. While Redis is unreachable there is nothing to undo there. */
  async unsubscribe(key: ChannelKey): Promise<void> {
    if (!this.keys.delete(key)) return;
    if (this.redis.status !== 'ready') return;
    await sorted(this.redis.unsubscribe(this.names.channel(key)));
  }

  connect(): void {
    this.redis.connect().catch(() => undefined);
  }

  async close(): Promise<void> {
    await quit(this.redis);
  }

  private async resubscribe(): Promise<void> {
    try {
      const channels = [this.names.control, ...[...this.keys.keys()].map((k) => this.names.channel(k))];
      for (let i = 0; i < channels.length; i += RESUBSCRIBE_BATCH) {
        await this.redis.subscribe(...channels.slice(i, i + RESUBSCRIBE_BATCH));
      }
      // Keys subscribed while the batches above were in flight went out on their own SUBSCRIBE.
      if (this.redis.status !== 'ready') return;
      this.resubscribed = true;
      this.handler?.onResumed?.();
    } catch (err) {
      // The connection dropped again; the next 'ready' retries.
      this.onError(err as Error);
    }
  }

  private dispatch(channel: string, payload: string): void {
    dispatchMessage(this.handler, this.names, (key) => this.keys.has(key), channel, payload, this.onError);
  }
}

/**
 * Hands a pub/sub message to the handler: a control command, or a message of a key the node is
 * subscribed to. Messages may still arrive between unsubscribe() and Redis processing the
 * UNSUBSCRIBE: those of keys no longer wanted are dropped.
 */
export function dispatchMessage(
  handler: EngineHandler | undefined,
  names: RedisKeys,
  wanted: (key: ChannelKey) => boolean,
  channel: string,
  payload: string,
  onError: (err: Error) => void,
): void {
  if (!handler) return;
  try {
    if (channel === names.control) {
      handler.onControl(decodeControl(payload));
      return;
    }
    const key = names.keyOfChannel(channel);
    if (key === undefined || !wanted(key)) return;
    // One payload may carry several publications of the key (see publishItemsLua).
    for (const message of decodeChannelMessages(key, payload)) handler.onChannelMessage(message);
  } catch (err) {
    onError(err as Error);
  }
}
