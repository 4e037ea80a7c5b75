import type { Cluster, Redis } from 'ioredis';
import { EngineUnavailableError, type ChannelKey, type EngineHandler } from '../engine.js';
import { ownerOf, slotOf } from './redis-cluster-client.js';
import { createRedisConnection, parseHostPort, quit } from './redis-client.js';
import { asEngineError, isMoved, sorted } from './redis-errors.js';
import type { RedisKeys } from './redis-keys.js';
import { type PubSubFeed, dispatchMessage } from './redis-subscriber.js';

/**
 * Least time between two slot map refreshes the subscriber asks for: while a move spreads by
 * gossip, a node that has not heard of it yet answers with the old map, and an SSUBSCRIBE there
 * is answered MOVED, which asks again.
 */
const REFRESH_GAP_MS = 100;

export interface ShardedSubscriberOptions {
  password?: string;
  commandTimeoutMs: number;
  onError: (err: Error) => void;
}

/**
 * Sharded pub/sub on a Redis Cluster (SSUBSCRIBE, Redis 7): one subscriber connection per master
 * that owns a wanted channel's slot, each channel subscribed on the master that owns it now.
 *
 * Written here rather than taken from ioredis's `shardedSubscribers` because the node must know
 * when delivery stopped and when it is whole again (`onInterrupted` / `onResumed`, then a repair
 * from history); ioredis resubscribes behind the caller's back and says neither. Delivery stops
 * when a shard's connection drops (a master killed) or a channel's slot gets a new owner (a
 * failover, a resharding: the old owner ends the subscription itself with an unsolicited
 * SUNSUBSCRIBE as it loses the slot, whether or not the slot map here knows yet); it is whole
 * again once every wanted channel is subscribed on its slot's owner.
 */
export class RedisShardedSubscriber implements PubSubFeed {
  private handler: EngineHandler | undefined;
  /** SSUBSCRIBE of each key the node asked for, for subscribe()'s idempotence. */
  private readonly subscribing = new Map<ChannelKey, Promise<void>>();
  /** Every wanted pub/sub channel (the control channel and one per key), by slot. */
  private readonly wanted = new Map<number, Set<string>>();
  /** Where each wanted channel is subscribed now (`host:port`), once its SSUBSCRIBE succeeded. */
  private readonly placed = new Map<string, string>();
  /** Wanted channels not (or no longer) subscribed on their slot's owner. */
  private readonly pending = new Set<string>();
  private readonly shards = new Map<string, Redis>();
  /** Each slot's owner at the last look, to notice the slots that moved. */
  private owners: (string | undefined)[] = [];
  private interrupted = false;
  private started = false;
  private closed = false;
  private syncing = false;
  private syncAgain = false;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private lastRefresh = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly names: RedisKeys,
    private readonly options: ShardedSubscriberOptions,
  ) {
    this.want(names.control);
    cluster.on('refresh', () => this.slotsChanged());
    cluster.on('ready', () => this.slotsChanged());
  }

  start(handler: EngineHandler): void {
    this.handler = handler;
    this.started = true;
    this.slotsChanged();
  }

  /** Shards connect when a channel of theirs is wanted, once the cluster's slot map is known. */
  connect(): void {
    this.slotsChanged();
  }

  get ready(): boolean {
    return this.started && !this.closed && this.pending.size === 0 && this.cluster.status === 'ready';
  }

  /** See Broker.subscribe. Fails at once while the channel's shard is unreachable. */
  subscribe(key: ChannelKey): Promise<void> {
    const existing = this.subscribing.get(key);
    if (existing) return existing;
    const channel = this.names.channel(key);
    const subscribed = this.subscribeNow(channel);
    this.subscribing.set(key, subscribed);
    subscribed.catch(() => {
      // A failed subscribe leaves the key unsubscribed, as the caller was told.
      if (this.subscribing.get(key) !== subscribed) return;
      this.subscribing.delete(key);
      this.forget(channel);
    });
    return subscribed;
  }

  /** See Broker.unsubscribe. */
  async unsubscribe(key: ChannelKey): Promise<void> {
    if (!this.subscribing.delete(key)) return;
    const channel = this.names.channel(key);
    const node = this.placed.get(channel);
    this.forget(channel);
    const shard = node === undefined ? undefined : this.shards.get(node);
    if (shard?.status !== 'ready') return;
    await shard.sunsubscribe(channel).catch((err: unknown) => {
      // The slot moved: its old owner ended the subscription when it lost the slot.
      if (!isMoved(err)) throw asEngineError(err);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    await Promise.all([...this.shards.values()].map((shard) => quit(shard)));
    this.shards.clear();
  }

  private async subscribeNow(channel: string): Promise<void> {
    this.want(channel);
    const node = ownerOf(this.cluster, channel);
    if (node === undefined) throw new EngineUnavailableError('Redis unavailable: no master owns the channel’s slot');
    const shard = this.shard(node);
    if (shard.status !== 'ready') await this.whenReady(shard);
    await sorted(shard.ssubscribe(channel));
    if (ownerOf(this.cluster, channel) === node) this.place(channel, node);
  }

  private want(channel: string): void {
    const slot = slotOf(channel);
    let channels = this.wanted.get(slot);
    if (!channels) this.wanted.set(slot, (channels = new Set()));
    channels.add(channel);
    if (!this.placed.has(channel)) this.pending.add(channel);
  }

  private forget(channel: string): void {
    const slot = slotOf(channel);
    const channels = this.wanted.get(slot);
    channels?.delete(channel);
    if (channels?.size === 0) this.wanted.delete(slot);
    this.placed.delete(channel);
    this.pending.delete(channel);
    this.resumeIfWhole();
  }

  private place(channel: string, node: string): void {
    if (!this.wanted.get(slotOf(channel))?.has(channel)) return;
    this.placed.set(channel, node);
    this.pending.delete(channel);
    this.resumeIfWhole();
  }

  /** The subscriber connection to a master, made on first need. */
  private shard(node: string): Redis {
    let shard = this.shards.get(node);
    if (shard) return shard;
    const { host, port } = parseHostPort(node);
    const connection = { host, port, password: this.options.password, commandTimeoutMs: this.options.commandTimeoutMs, onError: this.options.onError };
    shard = createRedisConnection(connection, 'herald-subscriber');
    const redis = shard;
    this.shards.set(node, redis);
    redis.on('smessage', (channel: string, payload: string) => this.dispatch(channel, payload));
    redis.on('ready', () => this.sync());
    redis.on('moved', () => this.shardMoved(node, redis));
    redis.on('close', () => this.shardLost(node, redis));
    redis.connect().catch(() => undefined);
    return redis;
  }

  private whenReady(shard: Redis): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new EngineUnavailableError('Redis unavailable: the channel’s shard does not answer')), this.options.commandTimeoutMs);
      const onReady = () => done();
      const done = (err?: Error) => {
        clearTimeout(timer);
        shard.off('ready', onReady);
        if (err) reject(err);
        else resolve();
      };
      shard.once('ready', onReady);
    });
  }

  /** A shard's connection dropped: its channels are lost until subscribed again (here or on a new owner). */
  private shardLost(node: string, redis: Redis): void {
    if (this.shards.get(node) !== redis || this.closed) return;
    let lost = false;
    for (const [channel, at] of this.placed) {
      if (at !== node) continue;
      this.placed.delete(channel);
      this.pending.add(channel);
      lost = true;
    }
    if (lost) this.interrupt();
    this.refreshSoon();
  }

  /**
   * ioredis's 'moved': the shard ended subscriptions itself (an unsolicited SUNSUBSCRIBE, as a
   * slot left it) or refused one (MOVED). Delivery of those channels stopped now, so they are
   * lost at once, before the slot map shows the new owner; ioredis's own subscription set says
   * which are still subscribed on the connection.
   */
  private shardMoved(node: string, redis: Redis): void {
    if (this.shards.get(node) !== redis || this.closed) return;
    const subscriptions = redis.condition?.subscriber;
    const still = new Set(subscriptions ? subscriptions.channels('ssubscribe') : []);
    let lost = false;
    for (const [channel, at] of this.placed) {
      if (at !== node || still.has(channel)) continue;
      this.placed.delete(channel);
      this.pending.add(channel);
      lost = true;
    }
    if (lost) this.interrupt();
    this.refreshSoon();
  }

  /** Refreshes the slot map now, or REFRESH_GAP_MS after the last refresh asked for here; its 'refresh' runs slotsChanged. */
  private refreshSoon(): void {
    if (this.refreshTimer !== undefined || this.closed) return;
    const wait = Math.max(0, this.lastRefresh + REFRESH_GAP_MS - Date.now());
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.lastRefresh = Date.now();
      this.cluster.refreshSlotsCache();
    }, wait);
  }

  /**
   * After a slot map refresh: channels whose slot has a new owner move there. Nothing is sent to
   * the old owner: it ended the subscription as it lost the slot (and would answer MOVED now).
   */
  private slotsChanged(): void {
    if (!this.started || this.closed) return;
    const slots = this.cluster.slots;
    let moved = false;
    for (const [slot, channels] of this.wanted) {
      const owner = slots[slot]?.[0];
      if (owner === this.owners[slot]) continue;
      for (const channel of channels) {
        const at = this.placed.get(channel);
        if (at === undefined || at === owner) continue;
        this.placed.delete(channel);
        this.pending.add(channel);
        moved = true;
      }
    }
    this.owners = slots.map((nodes) => nodes?.[0]);
    if (moved) this.interrupt();
    this.sync();
  }

  /** Subscribes every pending channel on its slot's owner; one SSUBSCRIBE per slot (it takes channels of one slot). */
  private sync(): void {
    if (!this.started || this.closed) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    void this.syncPending()
      .catch((err: unknown) => this.options.onError(err as Error))
      .finally(() => {
        this.syncing = false;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.sync();
        }
      });
  }

  private async syncPending(): Promise<void> {
    const bySlot = new Map<number, string[]>();
    for (const channel of this.pending) {
      const slot = slotOf(channel);
      let list = bySlot.get(slot);
      if (!list) bySlot.set(slot, (list = []));
      list.push(channel);
    }
    const calls: Promise<void>[] = [];
    const needed = new Set<string>();
    for (const [slot, channels] of bySlot) {
      const node = this.cluster.slots[slot]?.[0];
      if (node === undefined) continue;
      needed.add(node);
      const shard = this.shard(node);
      // Not connected yet: its 'ready' runs this again.
      if (shard.status !== 'ready') continue;
      calls.push(
        shard.ssubscribe(...channels).then(
          () => {
            for (const channel of channels) if (this.cluster.slots[slot]?.[0] === node) this.place(channel, node);
          },
          // MOVED: this map is older than the move; the 'moved' it raised refreshes it and comes back here.
          (err: Error) => {
            if (!isMoved(err)) this.options.onError(err);
          },
        ),
      );
    }
    await Promise.all(calls);
    // Connections to masters that own none of the wanted channels (a dead master's) are dropped.
    const inUse = new Set([...this.placed.values(), ...needed]);
    for (const [node, shard] of this.shards) {
      if (inUse.has(node)) continue;
      this.shards.delete(node);
      shard.disconnect();
    }
  }

  private interrupt(): void {
    if (this.interrupted) return;
    this.interrupted = true;
    this.handler?.onInterrupted?.();
  }

  private resumeIfWhole(): void {
    if (!this.interrupted || this.pending.size > 0) return;
    this.interrupted = false;
    this.handler?.onResumed?.();
  }

  private dispatch(channel: string, payload: string): void {
    dispatchMessage(this.handler, this.names, (key) => this.subscribing.has(key), channel, payload, this.options.onError);
  }
}
