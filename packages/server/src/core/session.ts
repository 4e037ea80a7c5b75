import {
  channelNameProblem,
  CloseCode,
  ErrorCode,
  eventNameProblem,
  type PresenceUser,
  type RecoverySince,
  type StreamPosition,
  type SubscribeResult,
} from '@herald/protocol';
import { AuthError, type Identity } from '../auth/identity.js';
import { channelKey, EngineUnavailableError } from '../engine.js';
import { badRequest, forbidden, HubError, internal, limitExceeded, unavailable } from './errors.js';
import { readHistory } from './history-read.js';
import type { Hub } from './hub.js';
import { OutboundPublication, type ClientLink } from './outbound.js';
import { TokenBucket } from './rate-limiter.js';
import { planRecovery, positionInEpoch, type ResumeFrom } from './recovery.js';
import { SessionLocks, type LockAnswer } from './locks.js';
import { SignalTracker } from './signals.js';
import { Subscription } from './subscription.js';

export interface SessionOptions {
  /** The route the client connected through, for logs and stats. */
  route?: string;
  /**
   * The connection this one takes over: the same client's previous connection, which the
   * gateway may not have seen end yet (a network cut). It is closed, and its slot counts for
   * this one when the tenant is full.
   */
  replaces?: string;
}

/** A subscribe that succeeded: send the reply, then call `flush()` to send the replay and go live. */
export interface PendingSubscribe {
  result: SubscribeResult;
  /** The stream position just before the replay: what the client holds once it has the reply. */
  start: StreamPosition;
  /**
   * Ids of kept publications at or before a resumed position, which the client therefore has
   * (only for a resume from several positions, which reads the whole kept history).
   */
  seenIds: readonly string[];
  flush(): void;
  /** Like flush, but returns what it would send (see mergeInOrder). */
  take(): OutboundPublication[];
}

/**
 * Merges several channels' publications into one stream: each channel's stay in offset order;
 * across channels the earliest id goes first. Ids are minted by whichever node accepted the
 * publish, so within a channel they need not follow offsets, and a plain sort by id could
 * reorder a channel.
 */
export function mergeInOrder(lists: OutboundPublication[][]): OutboundPublication[] {
  const heads = lists.map(() => 0);
  const out: OutboundPublication[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      if (heads[i] >= lists[i].length) continue;
      if (best < 0 || lists[i][heads[i]].publication.id < lists[best][heads[best]].publication.id) best = i;
    }
    if (best < 0) return out;
    out.push(lists[best][heads[best]++]);
  }
}

/** Flushes several pending subscribes as one stream, in the order of mergeInOrder. */
export function flushInOrder(link: ClientLink, pending: PendingSubscribe[]): void {
  for (const out of mergeInOrder(pending.map((p) => p.take()))) link.sendPublication(out);
}

/**
 * One authenticated client connection, whatever its transport. Transports call these methods
 * for the client's requests and `closed()` when the connection ends.
 */
export class Session {
  readonly subscriptions = new Map<string, Subscription>();
  readonly connectedAt = Date.now();
  /** Signals this connection started; their end events are published for it when it leaves. */
  readonly signals = new SignalTracker();
  readonly locks: SessionLocks;
  isClosed = false;
  private readonly bucket: TokenBucket;
  /** The implicit tenant-wide subscription carrying `user:online` / `user:offline`. */
  tenantSubscription: Subscription | undefined;

  constructor(
    private readonly hub: Hub,
    readonly id: string,
    public identity: Identity,
    readonly link: ClientLink,
    readonly options: SessionOptions = {},
  ) {
    this.locks = new SessionLocks(hub, this);
    const rate = hub.config.limits.messageRate;
    this.bucket = new TokenBucket(rate.perSecond, rate.burst);
  }

  get tenant(): string {
    return this.identity.tenant;
  }

  /** Takes one message from the client's rate allowance; false when it is spent. */
  allowMessage(): boolean {
    return this.bucket.take();
  }

  /**
   * Subscribes after checking the name, the rules and the limits. With `since`, the publications
   * missed after that position are replayed by `flush()`, or the result says why they cannot be.
   */
  async subscribe(channel: string, since?: ResumeFrom): Promise<PendingSubscribe> {
    const problem = channelNameProblem(channel);
    if (problem) throw new HubError(ErrorCode.InvalidChannel, problem, 'channel');
    if (this.subscriptions.has(channel)) throw new HubError(ErrorCode.AlreadySubscribed, `already subscribed to ${channel}`);
    const limits = this.hub.config.limits;
    if (this.subscriptions.size >= limits.subscriptionsPerConnection) {
      throw limitExceeded(`at most ${limits.subscriptionsPerConnection} subscriptions per connection`);
    }
    const rule = this.hub.policy.forSubscribe(channel, this.identity);
    if (!rule) {
      this.hub.denied(this, 'subscribe_forbidden', { channel });
      throw forbidden(`not allowed to subscribe to ${channel}`);
    }
    const key = channelKey(this.tenant, channel);
    const { maxSubscribers, presence, joinLeave } = rule.rule;
    const tracked = presence || joinLeave || maxSubscribers > 0;
    const engine = this.hub.engine;
    if (maxSubscribers > 0 && (await engine.presence.count(key)) >= maxSubscribers) {
      this.hub.denied(this, 'channel_full', { channel });
      throw limitExceeded(`${channel} has its maximum of ${maxSubscribers} subscribers`);
    }
    if (this.isClosed) throw unavailable('connection closed');
    if (this.subscriptions.has(channel)) throw new HubError(ErrorCode.AlreadySubscribed, `already subscribed to ${channel}`);
    const sub = new Subscription(this, channel, key, rule, tracked);
    this.subscriptions.set(channel, sub);
    try {
      await this.hub.attach(sub);
      const historyKept = rule.rule.history.size > 0;
      const page = await readHistory(engine, this.hub.logger, key, since ? (('offset' in since) ? { afterOffset: since.offset } : {}) : { limit: 0 });
      if (tracked) {
        const { first } = await engine.presence.join(key, this.presenceEntry());
        if (first && joinLeave) await engine.broker.publishJoinLeave('join', key, this.presenceUser(1));
      }
      if (this.isClosed) throw unavailable('connection closed');
      const plan = since ? planRecovery(since, page, historyKept) : undefined;
      const result: SubscribeResult = {
        channel,
        epoch: page.epoch,
        offset: page.offset,
        ...(plan ? { recovery: plan.result } : {}),
      };
      const first = plan?.replay[0];
      const resumedAt = since && 'positions' in since ? positionInEpoch(since.positions, page.epoch) : undefined;
      return {
        result,
        start: { epoch: page.epoch, offset: first ? first.offset - 1 : (plan?.offset ?? page.offset) },
        seenIds: resumedAt ? page.publications.filter((p) => p.offset <= resumedAt.offset).map((p) => p.id) : [],
        flush: () => sub.goLive((plan?.replay ?? []).map((p) => new OutboundPublication(p)), plan?.offset ?? page.offset, page.epoch),
        take: () => sub.takeLive((plan?.replay ?? []).map((p) => new OutboundPublication(p)), plan?.offset ?? page.offset, page.epoch),
      };
    } catch (err) {
      if (this.subscriptions.get(channel) === sub) await this.dropSubscription(sub);
      if (err instanceof HubError) throw err;
      this.hub.logger.warn({ err, channel, tenant: this.tenant }, 'subscribe failed');
      // As for a publish: only an engine that cannot answer now is worth a retry.
      if (err instanceof EngineUnavailableError) throw unavailable('subscription unavailable, try again');
      throw internal('subscribe failed: internal error');
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    const sub = this.subscriptions.get(channel);
    if (!sub) throw new HubError(ErrorCode.NotSubscribed, `not subscribed to ${channel}`);
    await this.dropSubscription(sub);
  }

  /** Publishes from the client, where the channel's rule allows it. */
  async publish(channel: string, event: string, data: unknown, idempotencyKey?: string): Promise<{ id: string; offset: number }> {
    // The same code for a bad channel name as subscribe, presence and history answer with.
    const channelProblem = channelNameProblem(channel);
    if (channelProblem) throw new HubError(ErrorCode.InvalidChannel, channelProblem, 'channel');
    const eventProblem = eventNameProblem(event);
    if (eventProblem) throw badRequest(eventProblem, 'event');
    if (!this.hub.policy.canPublish(channel, this.identity)) {
      this.hub.denied(this, 'publish_forbidden', { channel });
      throw forbidden(`not allowed to publish to ${channel}`);
    }
    const result = await this.hub.publish(this.tenant, { channels: [channel], event, data, idempotencyKey }, 'client');
    const rule = this.hub.policy.resolve(channel);
    if (rule) this.signals.published(rule.rule, channel, event, data);
    return { id: result.id, offset: result.offsets[channel] };
  }

  async presence(channel: string): Promise<{ channel: string; users: PresenceUser[] }> {
    const rule = this.readableRule(channel);
    if (!rule.rule.presence) throw badRequest(`presence is not kept for ${channel}`, 'channel');
    return { channel, users: await this.hub.engine.presence.list(channelKey(this.tenant, channel)) };
  }

  async history(channel: string, limit?: number, since?: RecoverySince): ReturnType<Hub['history']> {
    const rule = this.readableRule(channel);
    if (rule.rule.history.size === 0) throw badRequest(`history is not kept for ${channel}`, 'channel');
    return this.hub.history(this.tenant, this.identity, channel, { limit, since }, rule);
  }

  /** Takes a soft lock on the channel, where its rule enables locks; answers who holds it. */
  async lock(channel: string, name: string): Promise<LockAnswer> {
    const rule = this.readableRule(channel);
    if (!rule.rule.locks) throw badRequest(`locks are not enabled on ${channel}`, 'channel');
    return this.locks.lock(channel, name, rule.rule.locks.ttl);
  }

  async unlock(channel: string, name: string): Promise<{ released: boolean }> {
    this.readableRule(channel);
    return this.locks.unlock(channel, name);
  }

  /** Replaces the token; the user and tenant must stay the same. */
  async refresh(token: string): Promise<{ expiresAt?: number }> {
    let identity: Identity;
    try {
      identity = await this.hub.authenticator.verify(token);
    } catch (err) {
      throw new HubError(ErrorCode.Unauthorized, err instanceof AuthError ? err.message : 'token invalid');
    }
    if (identity.userId !== this.identity.userId || identity.tenant !== this.tenant) {
      throw new HubError(ErrorCode.Unauthorized, 'a refreshed token must be for the same user and tenant');
    }
    this.identity = identity;
    return identity.expiresAt ? { expiresAt: identity.expiresAt } : {};
  }

  /** The transport has told the client it is connected: tenant-wide events may flow now. */
  ready(): void {
    this.tenantSubscription?.goLive([], 0);
  }

  close(code: number, reason: string): void {
    this.link.close(code, reason);
  }

  /** Called when the client reads too slowly: closes it before its queue grows without bound. */
  tooSlow(): void {
    if (this.isClosed) return;
    this.hub.denied(this, 'slow_consumer', {});
    this.close(CloseCode.SlowConsumer, 'slow consumer: send queue full');
  }

  /** The transport reports the connection ended; releases everything it held. */
  closed(code: number): void {
    if (this.isClosed) return;
    this.isClosed = true;
    void this.hub.sessionClosed(this, code);
  }

  /** @internal Unsubscribes one subscription from the hub, presence and engine. */
  async dropSubscription(sub: Subscription): Promise<void> {
    if (this.subscriptions.get(sub.channel) === sub) this.subscriptions.delete(sub.channel);
    this.hub.detach(sub);
    if (!sub.tracked) return;
    try {
      const { last } = await this.hub.engine.presence.leave(sub.key, this.presenceEntry());
      if (last && sub.rule.rule.joinLeave) await this.hub.engine.broker.publishJoinLeave('leave', sub.key, this.presenceUser(0));
    } catch (err) {
      this.hub.logger.warn({ err, channel: sub.channel }, 'presence leave failed');
    }
  }

  presenceEntry() {
    const info = this.identity.info;
    return { connectionId: this.id, userId: this.identity.userId, ...(Object.keys(info).length > 0 ? { info } : {}) };
  }

  presenceUser(connections: number): PresenceUser {
    const info = this.identity.info;
    return { userId: this.identity.userId, connections, ...(Object.keys(info).length > 0 ? { info } : {}) };
  }

  private readableRule(channel: string) {
    const problem = channelNameProblem(channel);
    if (problem) throw new HubError(ErrorCode.InvalidChannel, problem, 'channel');
    const rule = this.hub.policy.forSubscribe(channel, this.identity);
    if (!rule) throw forbidden(`not allowed to read ${channel}`);
    return rule;
  }
}
