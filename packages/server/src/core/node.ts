import { TENANT_CHANNEL, type PresenceUser, type RecoverySince } from '@herald/protocol';
import type { Authenticator } from '../auth/authenticator.js';
import type { Identity } from '../auth/identity.js';
import type { HeraldConfig } from '../config/schema.js';
import {
  channelKey,
  splitChannelKey,
  type ChannelKey,
  type ChannelMessage,
  type ConnectionEntry,
  type ControlCommand,
  type Engine,
  type EngineHandler,
  type ExpiredEntry,
  type HistoryOptions,
  type HistoryPage,
  type HistoryQuery,
  type LockHolder,
  type PresenceEntry,
  type PresenceJoined,
  type PresenceLeft,
  type ResumeRecordStore,
} from '../engine.js';
import type { Logger } from '../logger.js';
import { ChannelPolicy, type ResolvedRule } from './channel-policy.js';
import { ClusterRequests, type ClusterQuestion } from './cluster.js';
import { DISCONNECTS } from './errors.js';
import { LifecycleBus } from './events.js';
import { NodeFigures, type FiguresSnapshot } from './figures.js';
import { Handshake, userEventData, type HandshakeNode, type RouteLimit } from './handshake.js';
import { readHistory } from './history-read.js';
import { Hub } from './hub.js';
import { newConnectionId } from './ids.js';
import type { ClientLink } from './outbound.js';
import type { ClientPublication, PublishGuard, PublishVerdict } from './publish-guard.js';
import { Publishing, type HistoryReply, type PublishManyOutcome, type PublishOutcome, type PublishRequest, type TenantPublish } from './publishing.js';
import { Session, type SessionHost, type SessionOptions } from './session.js';
import type { ActiveSignal } from './signals.js';
import { Streams } from './streams.js';
import { Subscription } from './subscription.js';

/** How long a subscribe waits for other nodes' active signals; a slower node's are not shown. */
const SIGNALS_TIMEOUT_MS = 500;

/** One node's figures, as it answers a cluster-wide `stats` question. */
export interface NodeStats {
  connections: { total: number; users: number; byTransport: Record<string, number>; byTenant: Record<string, number> };
  /** Distinct users, as `tenant:user`, so that users on several nodes count once. */
  userKeys: string[];
  rooms: { tenant: string; channel: string; subscribers: number }[];
  engine: string;
  accepting: boolean;
  /** Whether the engine can serve publishes now (as `/ready` says). */
  engineReady: boolean;
  figures: FiguresSnapshot;
}

/** One connection, as a cluster-wide `connections` question lists it. */
export interface ConnectionListing {
  connectionId: string;
  tenant: string;
  userId: string;
  roles: string[];
  transport: string;
  connectedAt: number;
  channels: string[];
}

/** One held lock, as a cluster-wide `locks` question lists it. */
export interface LockListing {
  tenant: string;
  channel: string;
  name: string;
  userId: string;
  connectionId: string;
  expiresAt: number;
}

export interface NodeDeps {
  config: HeraldConfig;
  engine: Engine;
  authenticator: Authenticator;
  logger: Logger;
}

/** The rule of the implicit tenant channel: everyone is on it, nothing is kept, no client publishes. */
const TENANT_RULE: ResolvedRule = {
  rule: { pattern: TENANT_CHANNEL, subscribe: 'all', publish: 'none', history: { size: 0, ttl: 0 }, presence: false, joinLeave: false, maxSubscribers: 0 },
  params: {},
  unmatched: false,
};

/**
 * One Herald node: the only owner and caller of the engine. It keeps the sessions, runs the
 * handshake, the publish and history paths and the cluster requests, feeds the hub (channel
 * registry and fan-out) from the engine, and announces what happens on its lifecycle bus.
 * Transports hand it links and credentials; the HTTP API calls its methods.
 */
export class Node implements EngineHandler, SessionHost, HandshakeNode {
  readonly config: HeraldConfig;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  readonly policy: ChannelPolicy;
  readonly events: LifecycleBus;
  readonly hub: Hub;
  readonly handshake: Handshake;
  readonly cluster: ClusterRequests;
  /** Totals and per-second counts since start, for `GET /api/v1/stats`. */
  readonly figures: NodeFigures;
  /** Backend streams with cancel (docs/streams.md). */
  readonly streams: Streams;
  /** This node's sessions, by connection id. */
  readonly sessions = new Map<string, Session>();
  /** Sessions holding an open signal: what a `signals` question looks through, rather than every session. */
  private readonly signalling = new Set<Session>();
  /** Records of resumable connections, readable from any node (Socket.IO connection state recovery). */
  readonly resumeRecords: ResumeRecordStore;
  private readonly engine: Engine;
  private readonly publishing: Publishing;
  /** See SessionHost: the publish guard's verdict; absent while no guard is set. */
  checkPublish: ((publication: ClientPublication) => Promise<PublishVerdict>) | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(deps: NodeDeps) {
    this.config = deps.config;
    this.engine = deps.engine;
    this.authenticator = deps.authenticator;
    this.logger = deps.logger;
    this.policy = new ChannelPolicy(deps.config);
    this.events = new LifecycleBus((err, event) => this.logger.error({ err, event }, 'lifecycle listener failed'));
    this.figures = new NodeFigures(this.events);
    this.publishing = new Publishing(this.engine.broker, this.config, this.policy, this.logger, this.events);
    this.hub = new Hub(
      {
        subscribe: (key) => this.engine.broker.subscribe(key),
        unsubscribe: (key) => this.engine.broker.unsubscribe(key),
        history: (key, query) => this.history(key, query),
        historyKept: (channel) => this.historyOptions(channel).size > 0,
        engineReady: () => this.engine.isReady(),
      },
      this.logger,
      this.events,
    );
    this.handshake = new Handshake(this);
    const records = this.engine.resumeRecords;
    this.resumeRecords = { save: (id, record, ttlMs) => records.save(id, record, ttlMs), load: (id) => records.load(id), remove: (id) => records.remove(id) };
    this.cluster = new ClusterRequests(this.engine.broker, (question) => this.answer(question), this.logger);
    this.streams = new Streams(
      {
        config: this.config,
        policy: this.policy,
        logger: this.logger,
        events: this.events,
        historyOptions: (channel) => this.historyOptions(channel),
        publishControl: (command) => this.engine.broker.publishControl(command),
        engineReady: () => this.engine.isReady(),
      },
      this.engine.streams,
    );
  }

  get engineName(): string {
    return this.engine.name;
  }

  async start(): Promise<void> {
    await this.engine.start(this);
    // One timer for every connection's token expiry and lock refresh, instead of timers each.
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
    this.streams.start();
  }

  get accepting(): boolean {
    return !this.draining;
  }

  /** True while the engine can serve publishes (for `/ready`). */
  engineReady(): boolean {
    return this.engine.isReady();
  }

  /** Stops accepting and closes every connection with 1012 so clients reconnect elsewhere. */
  async shutdown(): Promise<void> {
    this.draining = true;
    if (this.ticker) clearInterval(this.ticker);
    this.streams.stop();
    for (const session of [...this.sessions.values()]) session.close(DISCONNECTS.shutdown.close, DISCONNECTS.shutdown.reason);
  }

  /** Closes the engine; after shutdown and once connections have ended. */
  closeEngine(): Promise<void> {
    return this.engine.close();
  }

  /* ---------- publishing and reading, for the HTTP API and sessions ---------- */

  /** See Publishing.publish. */
  publish(tenant: string, request: PublishRequest, source: 'api' | 'client'): Promise<PublishOutcome> {
    return this.publishing.publish(tenant, request, source);
  }

  /** See Publishing.publishMany. */
  publishMany(entries: readonly TenantPublish[], source: 'api' | 'client'): Promise<PublishManyOutcome[]> {
    return this.publishing.publishMany(entries, source);
  }

  /** History of a channel as the identity may see it, or (without one) as the API does. */
  channelHistory(tenant: string, identity: Identity | undefined, channel: string, query: { limit?: number; since?: RecoverySince }, rule = this.policy.resolve(channel)): Promise<HistoryReply> {
    return this.publishing.history(tenant, identity, channel, query, rule);
  }

  historyOptions(channel: string): HistoryOptions {
    return this.publishing.historyOptions(channel);
  }

  /** See Publishing.reserve: a `$` channel of the node's own, kept as `history` says. */
  reserveChannel(channel: string, history: { size: number; ttlMs: number }): void {
    this.publishing.reserve(channel, history);
  }

  /** See Publishing.storeQuietly: the node's own publications on its `$` channels, announced to no one. */
  publishReserved(entries: readonly TenantPublish[]): Promise<PublishManyOutcome[]> {
    return this.publishing.storeQuietly(entries);
  }

  /** See Publishing.dataProblem. */
  dataProblem(data: unknown): string | undefined {
    return this.publishing.dataProblem(data);
  }

  /** Who is in a channel, across nodes. */
  listPresence(key: ChannelKey): Promise<PresenceUser[]> {
    return this.engine.presence.list(key);
  }

  /** Closes a user's connections (or one connection) on every node. Returns how many were on this node. */
  async disconnect(tenant: string, userId: string, code: number, reason: string, connectionId?: string): Promise<number> {
    const local = this.matchingSessions(tenant, userId, connectionId).length;
    await this.engine.broker.publishControl({ kind: 'disconnect', tenant, userId, ...(connectionId ? { connectionId } : {}), code, reason });
    return local;
  }

  /* ---------- SessionHost ---------- */

  get limits(): HeraldConfig['limits'] {
    return this.config.limits;
  }

  attach(sub: Subscription): Promise<void> {
    return this.hub.attach(sub);
  }

  detach(sub: Subscription): void {
    this.hub.detach(sub);
  }

  history(key: ChannelKey, query: HistoryQuery): Promise<HistoryPage> {
    return readHistory(this.engine.broker, this.logger, key, query);
  }

  joinPresence(key: ChannelKey, entry: PresenceEntry): Promise<PresenceJoined> {
    return this.engine.presence.join(key, entry);
  }

  leavePresence(key: ChannelKey, entry: PresenceEntry): Promise<PresenceLeft> {
    return this.engine.presence.leave(key, entry);
  }

  countPresence(key: ChannelKey): Promise<number> {
    return this.engine.presence.count(key);
  }

  announce(kind: 'join' | 'leave', key: ChannelKey, user: PresenceUser): Promise<void> {
    return this.engine.broker.publishJoinLeave(kind, key, user);
  }

  acquireLock(key: string, holder: LockHolder, ttlMs: number) {
    return this.engine.locks.acquire(key, holder, ttlMs);
  }

  refreshLock(key: string, connectionId: string, ttlMs: number): Promise<boolean> {
    return this.engine.locks.refresh(key, connectionId, ttlMs);
  }

  releaseLock(key: string, connectionId: string): Promise<boolean> {
    return this.engine.locks.release(key, connectionId);
  }

  lockState(key: string) {
    return this.engine.locks.get(key);
  }

  /** Sets (or with undefined removes) the check every client publication goes through before it is stored. */
  guardClientPublishes(guard: PublishGuard | undefined): void {
    // Absent without a guard, so that an unguarded publish waits for nothing.
    this.checkPublish = guard ? (publication) => guard.check(publication) : undefined;
  }

  verify(token: string): Promise<Identity> {
    return this.handshake.verify(token);
  }

  streamSnapshot(tenant: string, channel: string) {
    return this.streams.snapshot(tenant, channel);
  }

  /** See SessionHost: every node answers from its own connections; a node that does not answer in time is left out. */
  async activeSignals(tenant: string, channel: string): Promise<ActiveSignal[]> {
    const { answers } = await this.cluster.ask<ActiveSignal[]>({ kind: 'signals', tenant, channel }, SIGNALS_TIMEOUT_MS);
    return answers.flatMap((a) => a.answer).sort((a, b) => a.offset - b.offset);
  }

  /** See SessionHost. */
  signalsChanged(session: Session): void {
    if (session.hasSignals) this.signalling.add(session);
    else this.signalling.delete(session);
  }

  /** See SessionHost: releases what the session held, on this node and in the engine. */
  closed(session: Session, code: number): void {
    void this.release(session, code);
  }

  /* ---------- HandshakeNode ---------- */

  tenantCount(tenant: string): Promise<number> {
    return this.engine.connections.tenantCount(tenant);
  }

  async routeCount({ channel }: RouteLimit, identity: Identity): Promise<number> {
    const rule = this.policy.resolve(channel)?.rule;
    // Where the channel keeps presence, every node's connections count; otherwise this node's.
    const tracked = rule !== undefined && (rule.presence || rule.joinLeave || rule.maxSubscribers > 0);
    return tracked ? this.engine.presence.count(channelKey(identity.tenant, channel)) : this.hub.localSubscribers(identity.tenant, channel);
  }

  register(tenant: string, entry: ConnectionEntry): Promise<ConnectionEntry[]> {
    return this.engine.connections.add(tenant, entry);
  }

  async unregister(tenant: string, entry: ConnectionEntry): Promise<void> {
    await this.engine.connections.remove(tenant, entry);
  }

  evict(tenant: string, connectionId: string, code: number, reason: string, userId?: string): void {
    this.engine.broker
      .publishControl({ kind: 'disconnect', tenant, ...(userId ? { userId } : {}), connectionId, code, reason })
      .catch((err) => this.logger.warn({ err, connection: connectionId }, 'connection not closed'));
  }

  createSession(identity: Identity, link: ClientLink, options: SessionOptions): Session {
    return new Session(this, newConnectionId(), identity, link, options);
  }

  async admitted(session: Session, firstOfUser: boolean): Promise<void> {
    this.sessions.set(session.id, session);
    // The tenant-wide channel carries only user:online / user:offline: no subscription without them.
    const userEvents = this.config.presence.userEvents && session.userEvents;
    if (userEvents) {
      const tenantSub = new Subscription(session, TENANT_CHANNEL, channelKey(session.tenant, TENANT_CHANNEL), TENANT_RULE, false, true);
      session.tenantSubscription = tenantSub;
      try {
        // Held until the transport has told the client it is connected (Session.ready).
        await this.hub.attach(tenantSub);
      } catch (err) {
        // Not admitted (the engine could not subscribe the channel): the transport never gets this session to close.
        this.sessions.delete(session.id);
        this.hub.detach(tenantSub);
        throw err;
      }
    }
    this.events.emit('connect', { ...session.ref(), ...(session.route ? { route: session.route } : {}) });
    if (userEvents && firstOfUser) void this.announceUser(session, 'user:online');
  }

  /* ---------- EngineHandler ---------- */

  /** See EngineHandler: a channel's message, for the hub's fan-out. */
  onChannelMessage(message: ChannelMessage): void {
    this.hub.deliver(message);
  }

  /** See EngineHandler: every channel waits for its repair (see DeliveryRepair). */
  onInterrupted(): void {
    // Closing the engine at shutdown ends its connections too; there is nothing left to repair.
    if (this.draining) return;
    this.logger.warn({ event: 'engine_interrupted' }, 'engine delivery interrupted; channels wait for a repair from history');
    this.hub.interrupt();
  }

  /** See EngineHandler: repairs every channel from history, then lets it go live again. */
  onResumed(): void {
    this.logger.info({ event: 'engine_resumed' }, 'engine delivery back');
    this.hub.resume();
  }

  /** See EngineHandler: announces, once across nodes, the departures of a vanished node's users. */
  onExpired(entry: ExpiredEntry): void {
    if (this.draining) return;
    if (entry.kind === 'user') {
      if (!this.config.presence.userEvents) return;
      const data = { ...entry.announce, userId: entry.userId };
      this.publishing.store(entry.tenant, { channels: [TENANT_CHANNEL], event: 'user:offline', data }, 'api').catch((err) =>
        this.logger.warn({ err, event: 'user:offline' }, 'user presence event failed'),
      );
      return;
    }
    const { channel } = splitChannelKey(entry.key);
    if (!this.policy.resolve(channel)?.rule.joinLeave) return;
    this.engine.broker.publishJoinLeave('leave', entry.key, entry.user).catch((err) => this.logger.warn({ err, channel }, 'leave not published'));
  }

  /** See EngineHandler: node-wide commands and cluster requests. */
  onControl(command: ControlCommand): void {
    if (this.cluster.onControl(command) || this.streams.onControl(command) || command.kind !== 'disconnect') return;
    for (const session of this.matchingSessions(command.tenant, command.userId, command.connectionId)) {
      try {
        session.close(command.code, command.reason);
      } catch (err) {
        this.logger.warn({ err, connection: session.id }, 'close failed');
      }
    }
  }

  /* ---------- stats ---------- */

  /** Connections of this node, optionally of one tenant. */
  connectionStats(tenant?: string) {
    const byTransport: Record<string, number> = {};
    const byTenant: Record<string, number> = {};
    const users = this.userKeys(tenant);
    let total = 0;
    for (const s of this.sessions.values()) {
      if (tenant !== undefined && s.tenant !== tenant) continue;
      total += 1;
      byTransport[s.link.transport] = (byTransport[s.link.transport] ?? 0) + 1;
      byTenant[s.tenant] = (byTenant[s.tenant] ?? 0) + 1;
    }
    return { total, users: users.size, byTransport, byTenant };
  }

  /** Channels with subscribers on this node, optionally of one tenant. */
  roomStats(tenant?: string) {
    return this.hub.roomStats(tenant);
  }

  /** This node's figures, as it answers a cluster-wide `stats` question. */
  localStats(tenant?: string): NodeStats {
    return {
      connections: this.connectionStats(tenant),
      userKeys: [...this.userKeys(tenant)],
      rooms: this.roomStats(tenant).rooms,
      engine: this.engine.name,
      accepting: this.accepting,
      engineReady: this.engine.isReady(),
      figures: this.figures.snapshot(),
    };
  }

  /** The distinct users connected here, as `tenant:user`. */
  private userKeys(tenant?: string): Set<string> {
    const users = new Set<string>();
    for (const s of this.sessions.values()) if (tenant === undefined || s.tenant === tenant) users.add(`${s.tenant}:${s.identity.userId}`);
    return users;
  }

  /** This node's answer to a cluster-wide question. */
  private answer(question: ClusterQuestion): unknown {
    switch (question.kind) {
      case 'stats':
        return this.localStats(question.tenant);
      case 'connections':
        return [...this.sessions.values()]
          .filter((s) => (question.tenant === undefined || s.tenant === question.tenant) && (question.userId === undefined || s.identity.userId === question.userId))
          .map((s): ConnectionListing => ({
            connectionId: s.id,
            tenant: s.tenant,
            userId: s.identity.userId,
            roles: s.identity.roles,
            transport: s.link.transport,
            connectedAt: s.connectedAt,
            channels: [...s.subscriptions.keys()],
          }));
      case 'locks':
        return [...this.sessions.values()]
          .filter((s) => s.hasLocks && (question.tenant === undefined || s.tenant === question.tenant))
          .flatMap((s) => s.locks.list().map((l): LockListing => ({ tenant: s.tenant, ...l, userId: s.identity.userId, connectionId: s.id })));
      case 'streams':
        return this.streams.opened.list(question.tenant);
      case 'subscribers':
        return { subscribers: this.hub.localSubscribers(question.tenant, question.channel) };
      case 'signals':
        return [...this.signalling].filter((s) => s.tenant === question.tenant).flatMap((s) => s.signals.on(question.channel));
    }
  }

  /* ---------- inside ---------- */

  private async release(session: Session, code: number): Promise<void> {
    this.sessions.delete(session.id);
    this.events.emit('disconnect', { ...session.ref(), code });
    if (session.tenantSubscription) this.hub.detach(session.tenantSubscription);
    if (session.hasLocks) void session.locks.releaseAll();
    this.signalling.delete(session);
    for (const signal of session.hasSignals ? session.signals.drain() : []) {
      const base = signal.data !== null && typeof signal.data === 'object' && !Array.isArray(signal.data) ? signal.data : { data: signal.data };
      const data = { ...base, userId: session.identity.userId, reason: 'disconnected' };
      // Published on the editor's behalf, so it carries the editor's stamp as its start did.
      this.publish(session.tenant, { channels: [signal.channel], event: signal.endEvent, data, publisher: session.publisher() }, 'api').catch((err) =>
        this.logger.warn({ err, channel: signal.channel }, 'signal end not published'),
      );
    }
    await Promise.all([...session.subscriptions.values()].map((sub) => session.dropSubscription(sub)));
    try {
      const { last } = await this.engine.connections.remove(session.tenant, {
        connectionId: session.id,
        userId: session.identity.userId,
        connectedAt: session.connectedAt,
      });
      if (last && this.config.presence.userEvents && session.userEvents && !this.draining) await this.announceUser(session, 'user:offline');
    } catch (err) {
      this.logger.warn({ err, connection: session.id }, 'connection registry update failed');
    }
  }

  private matchingSessions(tenant: string, userId?: string, connectionId?: string): Session[] {
    if (connectionId) {
      const s = this.sessions.get(connectionId);
      return s && s.tenant === tenant && (!userId || s.identity.userId === userId) ? [s] : [];
    }
    return [...this.sessions.values()].filter((s) => s.tenant === tenant && s.identity.userId === userId);
  }

  private async announceUser(session: Session, event: 'user:online' | 'user:offline'): Promise<void> {
    if (session.identity.observer) return;
    try {
      await this.publishing.store(session.tenant, { channels: [TENANT_CHANNEL], event, data: userEventData(session.identity) }, 'api');
    } catch (err) {
      this.logger.warn({ err, event }, 'user presence event failed');
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const session of this.sessions.values()) {
      if (session.hasLocks) void session.locks.refreshDue(now);
      const expiresAt = session.identity.expiresAt;
      if (expiresAt !== undefined && expiresAt + this.config.auth.jwt.clockTolerance <= now) {
        session.close(DISCONNECTS.tokenExpired.close, DISCONNECTS.tokenExpired.reason);
      }
    }
  }
}
