import type { PresenceUser } from '@herald/protocol';
import { Cluster } from 'ioredis';
import {
  EngineUnavailableError,
  type Broker,
  type ChannelKey,
  type ControlCommand,
  type HistoryPage,
  type HistoryQuery,
  type PublishInput,
  type PublishItem,
  type PublishItemResult,
  type PublishOptions,
  type PublishResult,
  type StoredPublication,
} from '../engine.js';
import { type RedisClient, type RunId, type ScriptCall, defineScript } from './redis-client.js';
import { nodeByKey, ownerOf, slotOf } from './redis-cluster-client.js';
import { isSharded, publishMessage } from './redis-cluster-publish.js';
import { type ReplicaWait, runWithReplicas } from './redis-durable.js';
import { decodeHistoryEntry, encodeControl, encodeJoinLeave } from './redis-codec.js';
import { sorted } from './redis-errors.js';
import { type EncodedItem, encodeItem, epochCandidates, publishArguments, publishReplies } from './redis-publish.js';
import type { RedisKeys } from './redis-keys.js';
import { HISTORY_LUA, publishLua } from './redis-scripts.js';
import type { PubSubFeed } from './redis-subscriber.js';

/** Most items in one publish script call: bounds how long one call holds Redis. Larger batches go as several calls, sent together. */
const ITEMS_PER_CALL = 200;

/** Redis wants integer milliseconds. */
function ms(n: number): number {
  return Math.max(0, Math.floor(n));
}

/** An item of a batch with its place in the batch. */
interface Sent extends EncodedItem {
  index: number;
}

/**
 * See Broker. Publications of a key are ordered by the publish script: it assigns the offset,
 * stores and PUBLISHes (SPUBLISHes on a cluster) in one atomic step, and Redis delivers one
 * channel's messages in publish order to every subscribed node.
 */
export class RedisBroker implements Broker {
  private readonly publishScript: ScriptCall;
  private readonly historyScript: ScriptCall;

  constructor(
    private readonly redis: RedisClient,
    private readonly names: RedisKeys,
    private readonly runId: RunId,
    private readonly subscriber: PubSubFeed,
    /** How long a stream created by a read (no publish yet) keeps its epoch, in ms. */
    private readonly defaultMetaTtlMs: number,
    /** Acknowledge a publish only once this many replicas have it (see runWithReplicas). */
    private readonly replicaWait?: ReplicaWait,
  ) {
    this.publishScript = defineScript(redis, 'heraldPublish', publishLua(isSharded(redis)), 'varying');
    this.historyScript = defineScript(redis, 'heraldHistory', HISTORY_LUA, 2);
  }

  subscribe(key: ChannelKey): Promise<void> {
    return this.subscriber.subscribe(key);
  }

  unsubscribe(key: ChannelKey): Promise<void> {
    return this.subscriber.unsubscribe(key);
  }

  async publish(key: ChannelKey, input: PublishInput, options: PublishOptions): Promise<PublishResult> {
    const [result] = await this.publishMany([{ key, input, options }]);
    if ('error' in result) throw result.error;
    return result;
  }

  async publishMany(items: readonly PublishItem[]): Promise<PublishItemResult[]> {
    const results: PublishItemResult[] = new Array(items.length);
    // Checked and encoded first: data that cannot be stored fails as what it is, before Redis is asked anything.
    const sent: Sent[] = [];
    items.forEach((item, index) => {
      try {
        const encoded = encodeItem(item) as Sent;
        encoded.index = index;
        sent.push(encoded);
      } catch (err) {
        results[index] = { error: err instanceof Error ? err : new Error(String(err)) };
      }
    });
    if (sent.length === 0) return results;
    const runId = await this.runId.get();
    const chunks = this.chunks(sent);
    // Every call is issued before any reply is awaited: one round trip, and Redis runs them in item order.
    const replies = await Promise.all(
      chunks.map((chunk) => {
        const { keys, args } = publishArguments(this.names, chunk);
        return this.callPublish([keys.length, ...keys, runId, epochCandidates(chunk.length), ...args]) as Promise<(number | string)[]>;
      }),
    );
    replies.forEach((reply, c) => {
      publishReplies(reply, chunks[c]).forEach((result, i) => (results[chunks[c][i].index] = result));
    });
    return results;
  }

  /**
   * The script calls of a batch: up to ITEMS_PER_CALL items each, and on a cluster one slot per
   * call (items of one key keep their order, since they share a slot and a call's items run in order).
   */
  private chunks(sent: Sent[]): Sent[][] {
    const groups = new Map<number, Sent[]>();
    if (isSharded(this.redis)) {
      for (const item of sent) {
        const slot = slotOf(this.names.meta(item.item.key));
        const group = groups.get(slot);
        if (group) group.push(item);
        else groups.set(slot, [item]);
      }
    } else {
      groups.set(0, sent);
    }
    const chunks: Sent[][] = [];
    for (const group of groups.values()) {
      for (let from = 0; from < group.length; from += ITEMS_PER_CALL) chunks.push(group.slice(from, from + ITEMS_PER_CALL));
    }
    return chunks;
  }

  private callPublish(args: (string | number)[]): Promise<unknown> {
    if (!this.replicaWait) return this.publishScript(...args);
    return runWithReplicas(this.redis, 'heraldPublish', args, this.replicaWait);
  }

  async history(key: ChannelKey, query: HistoryQuery): Promise<HistoryPage> {
    const runId = await this.runId.get();
    const reply = (await this.historyScript(
      this.names.meta(key),
      this.names.history(key),
      runId,
      epochCandidates(1),
      ms(this.defaultMetaTtlMs),
      query.afterOffset === undefined ? '' : Math.floor(query.afterOffset),
      query.limit === undefined ? '' : ms(query.limit),
    )) as [string, number, ...(string | null)[]];
    const [epoch, offset, ...entries] = reply;
    const publications: StoredPublication[] = [];
    const unreadable: number[] = [];
    for (let i = 0; i < entries.length; i += 2) {
      // Entry ids are `<offset>-0`.
      const at = Number.parseInt(String(entries[i]), 10);
      const publication = decodeHistoryEntry(entries[i + 1], at);
      if (publication) publications.push(publication);
      else unreadable.push(at);
    }
    return { epoch, offset: Number(offset), publications, ...(unreadable.length > 0 ? { unreadable } : {}) };
  }

  async reserveId(tenant: string, idempotencyKey: string, id: string, ttlMs: number): Promise<string> {
    // SET NX GET (Redis 7) answers the value already there, or nil when it set ours.
    const kept = await sorted(this.redis.call('SET', this.names.reservedId(tenant, idempotencyKey), id, 'NX', 'GET', 'PX', Math.max(1, ms(ttlMs))) as Promise<string | null>);
    return kept ?? id;
  }

  async publishJoinLeave(kind: 'join' | 'leave', key: ChannelKey, user: PresenceUser): Promise<void> {
    await publishMessage(this.redis, this.names.channel(key), encodeJoinLeave(kind, user));
  }

  async publishControl(command: ControlCommand): Promise<void> {
    await publishMessage(this.redis, this.names.control, encodeControl(command));
  }

  /**
   * See Broker: every node has one subscriber connection on the control channel. On a cluster
   * the control channel is sharded too: its count is on the master that owns its slot.
   */
  async nodeCount(): Promise<number> {
    const control = this.names.control;
    if (this.redis instanceof Cluster) {
      const owner = ownerOf(this.redis, control);
      const node = owner === undefined ? undefined : nodeByKey(this.redis, owner);
      if (!node) throw new EngineUnavailableError('Redis unavailable: no master owns the control channel’s slot');
      const reply = await sorted(node.call('PUBSUB', 'SHARDNUMSUB', control) as Promise<[string, number]>);
      return Math.max(1, Number(reply[1]));
    }
    const reply = await sorted(this.redis.call('PUBSUB', 'NUMSUB', control) as Promise<[string, number]>);
    return Math.max(1, Number(reply[1]));
  }
}
