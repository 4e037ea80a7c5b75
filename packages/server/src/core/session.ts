import {
  channelNameProblem,
  CloseCode,
  eventNameProblem,
  type PresenceUser,
  type Publisher,
  type RecoverySince,
  type StreamPosition,
  type SubscribeResult,
} from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { HeraldConfig } from '../config/schema.js';
import { channelKey, type ChannelKey, type PresenceEntry, type PresenceJoined, type PresenceLeft, type StoredPublication } from '../engine.js';
import type { ClientPublication, PublishVerdict } from './publish-guard.js';
import { DISCONNECTS, HeraldError, badRequest, forbidden, limitExceeded, toHeraldError, unavailable } from './errors.js';
import type { DenialReason } from './events.js';
import { OutboundPublication, type ClientLink } from './outbound.js';
import { TokenBucket } from './rate-limiter.js';
import type { ChannelPolicy, ResolvedRule } from './channel-policy.js';
import { planRecovery, positionInEpoch, type ResumeFrom } from './recovery.js';
import type { HistoryReply } from './publishing.js';
import { SessionLocks, type LockAnswer, type LockHost } from './locks.js';
import { SignalTracker, type ActiveSignal } from './signals.js';
import { audienceAllows, Subscription, type PresenceMember, type Subscriber } from './subscription.js';

export interface SessionOptions {
  /** The route the client connected through, for logs and stats. */
  route?: string;
  /**
   * The connection this one takes over: the same client's previous connection, which the
   * gateway may not have seen end yet (a network cut). It is closed, and its slot counts for
   * this one when the tenant is full.
   */
  replaces?: string;
  /**
   * Whether the connection takes part in `user:online` / `user:offline` (default true): false for
   * a connection of no particular user (a Pusher client before it signs in), whose arrival is no
   * one's news and which does not read them.
   */
  userEvents?: boolean;
}

/**
 * What a session needs from its node: the rules, the channel registry, and the shared state
 * the engine keeps (history, presence, locks), without the engine itself. The node implements
 * it; tests can give a session a fake one.
 */
export interface SessionHost extends LockHost {
  readonly policy: ChannelPolicy;
  readonly limits: HeraldConfig['limits'];

  /** Registers a subscription with the hub; resolves once its channel is live on this node. */
  attach(sub: Subscription): Promise<void>;
  detach(sub: Subscription): void;
  /** History as a client may read it: its audience and the rule's `eventRoles` applied. */
  channelHistory(tenant: string, identity: Identity, channel: string, query: { limit?: number; since?: RecoverySince }, rule: ResolvedRule): Promise<HistoryReply>;

  joinPresence(key: ChannelKey, entry: PresenceEntry): Promise<PresenceJoined>;
  leavePresence(key: ChannelKey, entry: PresenceEntry): Promise<PresenceLeft>;
  countPresence(key: ChannelKey): Promise<number>;
  listPresence(key: ChannelKey): Promise<PresenceUser[]>;
  /** Tells every node's subscribers of the channel that a user arrived or left. */
  announce(kind: 'join' | 'leave', key: ChannelKey, user: PresenceUser): Promise<void>;

  /** The signals started and not yet ended on a channel, by every connection on every node (see SignalTracker). */
  activeSignals(tenant: string, channel: string): Promise<ActiveSignal[]>;
  /** The session opened or ended a signal: the node keeps track of the sessions that hold any. */
  signalsChanged(session: Session): void;

  /** The backend's decision on a client publication, where a publish guard is set (see PublishGuard). */
  checkPublish?(publication: ClientPublication): Promise<PublishVerdict>;
  /** The channel's open streams as a joiner gets them (see Streams.snapshot), or undefined when it has none. */
  streamSnapshot(tenant: string, channel: string): Promise<{ epoch: string; offset: number; publications: StoredPublication[] } | undefined>;

  /** Verifies a token (throws HeraldError `unauthorized` with the reason). */
  verify(token: string): Promise<Identity>;
  /** The connection ended: the node releases what it held. */
  closed(session: Session, code: number): void;
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
  /** Sends the channel's active signals (see ClientLink.sendState), then the replay, and goes live. */
  flush(): void;
  /** Like flush, but sends only the active signals and returns the rest (see mergeInOrder). */
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
 * for the client's requests and `closed()` when the connection ends. It is the subscriber of
 * its subscriptions, and reaches the rest of the node through its SessionHost.
 */
export class Session implements Subscriber {
  readonly subscriptions = new Map<string, Subscription>();
  readonly connectedAt = Date.now();
  /** See `signals`; made on first use, as an idle connection should cost little. */
  private signalState: SignalTracker | undefined;
  /** See `locks`; made on first use. */
  private lockState: SessionLocks | undefined;
  isClosed = false;
  /** The route the client connected through (see SessionOptions). */
  readonly route: string | undefined;
  /** See SessionOptions.userEvents. */
  readonly userEvents: boolean;
  private readonly bucket: TokenBucket;
  /** The implicit tenant-wide subscription carrying `user:online` / `user:offline`. */
  tenantSubscription: Subscription | undefined;

  constructor(
    private readonly host: SessionHost,
    readonly id: string,
    public identity: Identity,
    readonly link: ClientLink,
    options: SessionOptions = {},
  ) {
    this.route = options.route;
    this.userEvents = options.userEvents ?? true;
    const rate = host.limits.messageRate;
    this.bucket = new TokenBucket(rate.perSecond, rate.burst);
  }

  /** Signals this connection started; their end events are published for it when it leaves. */
  get signals(): SignalTracker {
    return (this.signalState ??= new SignalTracker());
  }

  get locks(): SessionLocks {
    return (this.lockState ??= new SessionLocks(this.host, this));
  }

  /** Whether the connection holds a lock (asked without making its lock state). */
  get hasLocks(): boolean {
    return (this.lockState?.size ?? 0) > 0;
  }

  /** Whether the connection has a signal open (asked without making its signal state). */
  get hasSignals(): boolean {
    return (this.signalState?.size ?? 0) > 0;
  }

  get tenant(): string {
    return this.identity.tenant;
  }

  /** Takes one message from the client's rate allowance; false when it is spent (and says so). */
  allowMessage(): boolean {
    if (this.bucket.take()) return true;
    this.denied('rate_limited');
    return false;
  }

  /**
   * Subscribes after checking the name, the rules and the limits. With `since`, the publications
   * missed after that position are replayed by `flush()`, or the result says why they cannot be.
   * With `member`, the subscription is in the channel's presence as that member (see PresenceMember);
   * with `joinsWhilePending`, joins and leaves reach the link before `flush()` (see Subscription).
   */
  async subscribe(channel: string, since?: ResumeFrom, options: { member?: PresenceMember; joinsWhilePending?: boolean } = {}): Promise<PendingSubscribe> {
    const problem = channelNameProblem(channel);
    if (problem) throw new HeraldError('invalidChannel', problem, 'channel');
    if (this.subscriptions.has(channel)) throw new HeraldError('alreadySubscribed', `already subscribed to ${channel}`);
    const limits = this.host.limits;
    if (this.subscriptions.size >= limits.subscriptionsPerConnection) {
      throw limitExceeded(`at most ${limits.subscriptionsPerConnection} subscriptions per connection`);
    }
    const rule = this.host.policy.forSubscribe(channel, this.identity);
    if (!rule) {
      this.denied('subscribe_forbidden', channel);
      throw forbidden(`not allowed to subscribe to ${channel}`);
    }
    const key = channelKey(this.tenant, channel);
    const { presence, joinLeave } = rule.rule;
    const maxSubscribers = this.identity.observer ? 0 : rule.rule.maxSubscribers;
    // Occupancy is decided by the engine's presence counts, so its listeners need every channel tracked;
    // an observer (the console's link) is never seen, so never tracked.
    const tracked = !this.identity.observer && (presence || joinLeave || maxSubscribers > 0 || this.host.events.has('occupancy'));
    const host = this.host;
    let sub: Subscription | undefined;
    try {
      if (maxSubscribers > 0 && (await host.countPresence(key)) >= maxSubscribers) {
        this.denied('channel_full', channel);
        throw new HeraldError('channelFull', `${channel} has its maximum of ${maxSubscribers} subscribers`);
      }
      if (this.isClosed) throw unavailable('connection closed');
      if (this.subscriptions.has(channel)) throw new HeraldError('alreadySubscribed', `already subscribed to ${channel}`);
      sub = new Subscription(this, channel, key, rule, tracked, false, options.member);
      sub.joinsWhilePending = options.joinsWhilePending ?? false;
      this.subscriptions.set(channel, sub);
      await host.attach(sub);
      // The channel's open streams coalesced, read once attached: every later chunk arrives live,
      // past the snapshot's offset. A joiner gets them, and so does a resume that cannot be recovered.
      const streams = await host.streamSnapshot(this.tenant, channel);
      const historyKept = rule.rule.history.size > 0;
      const page = await host.history(key, since ? ('offset' in since ? { afterOffset: since.offset } : {}) : { limit: 0 });
      // Read once the subscription is attached, so a signal started from now on arrives live.
      const signals = rule.rule.signals ? await host.activeSignals(this.tenant, channel) : [];
      if (tracked) {
        const { first, occupied } = await host.joinPresence(key, this.presenceEntry(sub));
        if (occupied) host.events.emit('occupancy', { action: 'occupied', tenant: this.tenant, channel });
        if (first && (presence || joinLeave)) host.events.emit('presence', { ...this.ref(), userId: this.memberOf(sub).userId, action: 'join', channel });
        if (first && joinLeave) await host.announce('join', key, this.presenceUser(1, sub));
      }
      if (this.isClosed) throw unavailable('connection closed');
      const plan = since ? planRecovery(since, page, historyKept) : undefined;
      const fromStreams = streams && streams.epoch === page.epoch && !plan?.result.recovered ? streams : undefined;
      // The snapshot holds the streams' text up to its offset: a partial replay would repeat it.
      const replay = fromStreams ? [] : (plan?.replay ?? []);
      const result: SubscribeResult = {
        channel,
        epoch: page.epoch,
        // A subscriber with a snapshot holds the channel up to the snapshot's offset.
        offset: fromStreams?.offset ?? page.offset,
        ...(plan ? { recovery: plan.result } : {}),
      };
      const first = replay[0];
      const resumedAt = since && 'positions' in since ? positionInEpoch(since.positions, page.epoch) : undefined;
      const live = sub;
      const state = [
        ...signals.map(({ endEvent: _end, ...s }) => new OutboundPublication({ ...s, epoch: page.epoch })),
        ...(fromStreams?.publications ?? []).map((p) => new OutboundPublication(p)),
      ].filter((out) => audienceAllows(out.publication, rule, this.identity));
      const livePosition = fromStreams?.offset ?? plan?.offset ?? page.offset;
      // The channel's current state goes first: the replay and live publications may end it.
      const sendState = () => {
        for (const out of state) this.link.sendState(out);
      };
      host.events.emit('subscribe', { ...this.ref(), channel });
      return {
        result,
        start: { epoch: page.epoch, offset: first ? first.offset - 1 : livePosition },
        seenIds: resumedAt ? page.publications.filter((p) => p.offset <= resumedAt.offset).map((p) => p.id) : [],
        flush: () => {
          sendState();
          live.goLive(replay.map((p) => new OutboundPublication(p)), livePosition, page.epoch);
        },
        take: () => {
          sendState();
          return live.takeLive(replay.map((p) => new OutboundPublication(p)), livePosition, page.epoch);
        },
      };
    } catch (err) {
      if (sub && this.subscriptions.get(channel) === sub) await this.dropSubscription(sub);
      // As for a publish: only an engine that cannot answer now is worth a retry.
      throw toHeraldError(err, host.logger, 'subscribe', { unavailable: 'subscription unavailable, try again', kind: 'subscribeUnavailable' });
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    const sub = this.subscriptions.get(channel);
    if (!sub) throw new HeraldError('notSubscribed', `not subscribed to ${channel}`);
    await this.dropSubscription(sub);
  }

  /** Publishes from the client, where the channel's rule allows it. */
  async publish(channel: string, event: string, data: unknown, idempotencyKey?: string): Promise<{ id: string; offset: number }> {
    // The same code for a bad channel name as subscribe, presence and history answer with.
    const channelProblem = channelNameProblem(channel);
    if (channelProblem) throw new HeraldError('invalidChannel', channelProblem, 'channel');
    const eventProblem = eventNameProblem(event);
    if (eventProblem) throw badRequest(eventProblem, 'event');
    if (!this.host.policy.canPublish(channel, this.identity)) {
      this.denied('publish_forbidden', channel);
      throw forbidden(`not allowed to publish to ${channel}`);
    }
    let checked = withoutPublisher(data);
    if (this.host.checkPublish) {
      const verdict = await this.host.checkPublish({ connection: this.ref(), info: this.identity.info, channel, event, data: checked });
      if (verdict.action === 'refuse') throw new HeraldError('publishRefused', verdict.reason);
      if (verdict.action === 'unchecked') throw new HeraldError('publishUnchecked', verdict.reason);
      if (verdict.action === 'rewrite') checked = withoutPublisher(verdict.data);
    }
    const stamped = { channels: [channel], event, data: checked, idempotencyKey, publisher: this.publisher() };
    const result = await this.host.publish(this.tenant, stamped, 'client');
    const rule = this.host.policy.resolve(channel);
    const offset = result.offsets[channel];
    if (rule?.rule.signals) {
      this.signals.published(rule.rule, { channel, id: result.id, event, data: stamped.data, offset, ts: Date.now(), publisher: stamped.publisher });
      this.host.signalsChanged(this);
    }
    return { id: result.id, offset: result.offsets[channel] };
  }

  async presence(channel: string): Promise<{ channel: string; users: PresenceUser[] }> {
    const rule = this.readableRule(channel);
    if (!rule.rule.presence) throw badRequest(`presence is not kept for ${channel}`, 'channel');
    return { channel, users: await this.host.listPresence(channelKey(this.tenant, channel)) };
  }

  async history(channel: string, limit?: number, since?: RecoverySince): Promise<HistoryReply> {
    const rule = this.readableRule(channel);
    if (rule.rule.history.size === 0) throw badRequest(`history is not kept for ${channel}`, 'channel');
    return this.host.channelHistory(this.tenant, this.identity, channel, { limit, since }, rule);
  }

  /** Takes a soft lock on the channel, where its rule enables locks; answers who holds it. */
  async lock(channel: string, name: string): Promise<LockAnswer> {
    const rule = this.readableRule(channel);
    if (!rule.rule.locks) throw badRequest(`locks are not enabled on ${channel}`, 'channel');
    return this.locks.lock(channel, name, rule.rule.locks);
  }

  async unlock(channel: string, name: string): Promise<{ released: boolean }> {
    return this.locks.unlock(channel, name, this.readableRule(channel).rule.locks);
  }

  /** Replaces the token; the user and tenant must stay the same. */
  async refresh(token: string): Promise<{ expiresAt?: number }> {
    const identity = await this.host.verify(token);
    if (identity.userId !== this.identity.userId || identity.tenant !== this.tenant) {
      throw new HeraldError('unauthorized', 'a refreshed token must be for the same user and tenant');
    }
    this.identity = identity;
    return identity.expiresAt ? { expiresAt: identity.expiresAt } : {};
  }

  /** The transport has told the client it is connected: tenant-wide events may flow now. */
  ready(): void {
    this.tenantSubscription?.goLive([], 0);
  }

  /** See Subscriber. */
  send(out: OutboundPublication): void {
    this.link.sendPublication(out);
  }

  /** See Subscriber. */
  sendJoinLeave(kind: 'join' | 'leave', channel: string, user: PresenceUser): void {
    this.link.sendJoinLeave(kind, channel, user);
  }

  /** Ends the connection from the server's side, with one of DISCONNECTS' close codes. */
  close(code: number, reason: string): void {
    if (!this.isClosed) this.host.events.emit('eviction', { ...this.ref(), code, reason });
    this.link.close(code, reason);
  }

  /** See Subscriber: called when the client reads too slowly, before its queue grows without bound. */
  tooSlow(): void {
    if (this.isClosed) return;
    this.denied('slow_consumer');
    this.close(DISCONNECTS.slowConsumer.close, DISCONNECTS.slowConsumer.reason);
  }

  /** See Subscriber: delivery cannot be repaired; the client reconnects and recovers. */
  resync(reason: string): void {
    this.close(CloseCode.ServiceRestart, reason);
  }

  /** The transport reports the connection ended; releases everything it held. */
  closed(code: number): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.host.closed(this, code);
  }

  /** Unsubscribes one subscription from the hub and presence. */
  async dropSubscription(sub: Subscription): Promise<void> {
    if (this.subscriptions.get(sub.channel) === sub) this.subscriptions.delete(sub.channel);
    this.host.detach(sub);
    if (sub !== this.tenantSubscription) this.host.events.emit('unsubscribe', { ...this.ref(), channel: sub.channel });
    if (!sub.tracked) return;
    try {
      const { last, vacated } = await this.host.leavePresence(sub.key, this.presenceEntry(sub));
      const { presence, joinLeave } = sub.rule.rule;
      if (last && (presence || joinLeave)) this.host.events.emit('presence', { ...this.ref(), userId: this.memberOf(sub).userId, action: 'leave', channel: sub.channel });
      if (vacated) this.host.events.emit('occupancy', { action: 'vacated', tenant: this.tenant, channel: sub.channel });
      if (last && joinLeave) await this.host.announce('leave', sub.key, this.presenceUser(0, sub));
    } catch (err) {
      this.host.logger.warn({ err, channel: sub.channel }, 'presence leave failed');
    }
  }

  /** Who this connection is in a channel's presence: the subscription's own member (a signed Pusher subscribe), or its identity. */
  private memberOf(sub?: Subscription): { userId: string; info?: Record<string, unknown> } {
    return sub?.member ?? this.identity;
  }

  /** This connection in a channel's presence: its identity, or the subscription's own member. */
  presenceEntry(sub?: Subscription) {
    const { userId, info } = this.memberOf(sub);
    return { connectionId: this.id, userId, ...(info && Object.keys(info).length > 0 ? { info } : {}) };
  }

  /** Who this connection publishes as: its token's user and display info, which the client cannot change. */
  publisher(): Publisher {
    const info = this.identity.info;
    return { userId: this.identity.userId, ...(Object.keys(info).length > 0 ? { info } : {}) };
  }

  presenceUser(connections: number, sub?: Subscription): PresenceUser {
    const { userId, info } = this.memberOf(sub);
    return { userId, connections, ...(info && Object.keys(info).length > 0 ? { info } : {}) };
  }

  /** The connection as lifecycle events name it. */
  ref() {
    return { connectionId: this.id, tenant: this.tenant, userId: this.identity.userId, transport: this.link.transport };
  }

  /** Announces a refused request of this connection. */
  denied(reason: DenialReason, channel?: string): void {
    this.host.events.emit('denial', { reason, ...this.ref(), ...(channel !== undefined ? { channel } : {}) });
  }

  private readableRule(channel: string) {
    const problem = channelNameProblem(channel);
    if (problem) throw new HeraldError('invalidChannel', problem, 'channel');
    const rule = this.host.policy.forSubscribe(channel, this.identity);
    if (!rule) throw forbidden(`not allowed to read ${channel}`);
    return rule;
  }
}

/** A client's object data without a `publisher` of its own: only the gateway's stamp goes by that name. */
function withoutPublisher(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !Object.hasOwn(data, 'publisher')) return data;
  const { publisher: _forged, ...rest } = data as Record<string, unknown>;
  return rest;
}
