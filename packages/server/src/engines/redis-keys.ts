import type { ChannelKey } from '../engine.js';

/**
 * Redis key and pub/sub channel names. Every key of one channel (or one tenant) shares a
 * `{hash tag}`, so a script touching them stays in one slot of a Redis Cluster. With `sharded`
 * (a cluster), a channel's pub/sub channel carries the same tag, so the publish script's SPUBLISH
 * is in its slot too.
 */
export class RedisKeys {
  constructor(readonly prefix: string, readonly sharded = false) {}

  /** Hash `{e: epoch, o: offset, t: history ttl, r: Redis run id}`. */
  meta(key: ChannelKey): string {
    return `${this.prefix}s:{${key}}:meta`;
  }

  /** Stream of publications, entry id `<offset>-0`. */
  history(key: ChannelKey): string {
    return `${this.prefix}s:{${key}}:hist`;
  }

  idempotency(key: ChannelKey, idempotencyKey: string): string {
    return `${this.prefix}s:{${key}}:idem:${idempotencyKey}`;
  }

  /** The id reserved for a multi-channel publish with an idempotency key (see Broker.reserveId). */
  reservedId(tenant: string, idempotencyKey: string): string {
    return `${this.prefix}t:{${tenant}}:id:${idempotencyKey}`;
  }

  /** Hash of `c:<connection>` → user, `u:<user>` → count, `i:<user>` → info JSON. */
  presence(key: ChannelKey): string {
    return `${this.prefix}p:{${key}}`;
  }

  /** Sorted set of connection → expiry (Redis clock, ms). */
  presenceExpiry(key: ChannelKey): string {
    return `${this.prefix}p:{${key}}:exp`;
  }

  /** List of `[user, info JSON]` whose last connection in the channel expired, for the next refresh to report. */
  presenceGone(key: ChannelKey): string {
    return `${this.prefix}p:{${key}}:gone`;
  }

  /** Hash of connection → user. */
  tenantConnections(tenant: string): string {
    return `${this.prefix}t:{${tenant}}:conns`;
  }

  /** Sorted set of connection → expiry (Redis clock, ms). */
  tenantExpiry(tenant: string): string {
    return `${this.prefix}t:{${tenant}}:exp`;
  }

  /** Hash of user → what `user:offline` says about them, should their node vanish. */
  tenantInfo(tenant: string): string {
    return `${this.prefix}t:{${tenant}}:info`;
  }

  /** List of `[user, announce JSON]` whose last connection expired, for the next refresh to report. */
  tenantGone(tenant: string): string {
    return `${this.prefix}t:{${tenant}}:gone`;
  }

  /** Prefix of the per-user sorted sets (connection → connectedAt); scripts append the user id. */
  tenantUserPrefix(tenant: string): string {
    return `${this.prefix}t:{${tenant}}:u:`;
  }

  /** A soft lock (see LockStore); the lock key already carries its channel key. */
  lock(key: string): string {
    return `${this.prefix}lock:${key}`;
  }

  /** A record of a resumable connection (see ResumeRecordStore); the key name predates the rename. */
  resumeRecord(id: string): string {
    return `${this.prefix}sess:${id}`;
  }

  /** The pub/sub channel of one channel key. */
  channel(key: ChannelKey): string {
    return this.sharded ? `${this.prefix}ch:{${key}}` : `${this.prefix}ch:${key}`;
  }

  /** The channel key of a pub/sub channel, or undefined when it is not one of ours. */
  keyOfChannel(channel: string): ChannelKey | undefined {
    const head = this.sharded ? `${this.prefix}ch:{` : `${this.prefix}ch:`;
    if (!channel.startsWith(head)) return undefined;
    if (!this.sharded) return channel.slice(head.length);
    return channel.endsWith('}') ? channel.slice(head.length, -1) : undefined;
  }

  /** Hash of a backend stream (see redis-stream-scripts.ts), with its home channel's keys. */
  stream(home: ChannelKey, id: string): string {
    return `${this.prefix}s:{${home}}:stream:${id}`;
  }

  /** The stream's coalesced text. */
  streamText(home: ChannelKey, id: string): string {
    return `${this.prefix}s:{${home}}:stream:${id}:text`;
  }

  /** List of `<byte offset>\t<group>`: where each run of one group starts in the text. */
  streamRuns(home: ChannelKey, id: string): string {
    return `${this.prefix}s:{${home}}:stream:${id}:runs`;
  }

  /** Set of the ids of a channel's open streams. */
  openStreams(key: ChannelKey): string {
    return `${this.prefix}s:{${key}}:streams`;
  }

  /** A stream id's home channel key and channel keys, as JSON: how a write by id finds its keys. */
  streamIndex(id: string): string {
    return `${this.prefix}sx:${id}`;
  }

  /** Sorted set of `<id>\t<home>` by last write (ms): the idle sweep's queue. */
  get idleStreams(): string {
    return `${this.prefix}streams:idle`;
  }

  /** The one pub/sub channel every node listens to for control commands. */
  get control(): string {
    return `${this.prefix}control`;
  }
}
