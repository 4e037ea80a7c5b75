import { channelNameProblem, CloseCode, dataProblem, eventNameProblem, type Audience, type Publication, type RecoverySince } from '@herald/protocol';
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
  EngineUnavailableError,
  type ExpiredEntry,
  type HistoryOptions,
} from '../engine.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { ChannelPolicy, type ResolvedRule } from './channel-policy.js';
import { DeliveryRepair, type RepairableChannel } from './delivery-repair.js';
import { badRequest, HubError, internal, limitExceeded, unavailable } from './errors.js';
import { readHistory } from './history-read.js';
import { newConnectionId, newPublicationId } from './ids.js';
import { OutboundPublication, type ClientLink } from './outbound.js';
import { planRecovery } from './recovery.js';
import { Session, type SessionOptions } from './session.js';
import { audienceAllows, Subscription } from './subscription.js';
import { TENANT_NAME, TENANT_NAME_RULE } from './tenant-name.js';

/** The implicit per-tenant channel every connection receives `user:online` / `user:offline` on. */
export const TENANT_CHANNEL = '$tenant';

export interface PublishRequest {
  channels: string[];
  event: string;
  data: unknown;
  audience?: Audience;
  idempotencyKey?: string;
}

export interface PublishOutcome {
  id: string;
  offsets: Record<string, number>;
  /** True when the idempotency key was seen before and nothing was delivered again. */
  duplicate: boolean;
}

interface ChannelState extends RepairableChannel {
  subscribers: Set<Subscription>;
  /** Resolves when the engine delivers this key to the node. */
  ready: Promise<void>;
}

/** What `user:online` and `user:offline` carry about a user. */
function userEventData(identity: Identity): Record<string, unknown> {
  const { userId, roles, info } = identity;
  return { userId, ...info, role: roles[0] ?? null, roles };
}

export interface HubDeps {
  config: HeraldConfig;
  engine: Engine;
  authenticator: Authenticator;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The node's core: sessions, channel subscriptions and fan-out. Knows nothing of sockets or of
 * other nodes; transports hand it `ClientLink`s and the engine hands it messages.
 */
export class Hub implements EngineHandler {
  readonly config: HeraldConfig;
  readonly engine: Engine;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly policy: ChannelPolicy;
  readonly sessions = new Map<string, Session>();
  private readonly channels = new Map<ChannelKey, ChannelState>();
  private readonly tenantRule: ResolvedRule;
  private readonly repairs: DeliveryRepair;
  private ticker: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(deps: HubDeps) {
    this.config = deps.config;
    this.engine = deps.engine;
    this.authenticator = deps.authenticator;
    this.logger = deps.logger;
    this.metrics = deps.metrics;
    this.policy = new ChannelPolicy(deps.config);
    this.tenantRule = {
      rule: { pattern: TENANT_CHANNEL, subscribe: 'all', publish: 'none', history: { size: 0, ttl: 0 }, presence: false, joinLeave: false, maxSubscribers: 0 },
      params: {},
      unmatched: false,
    };
    this.repairs = new DeliveryRepair({
      engine: this.engine,
      logger: this.logger,
      historyKept: (channel) => this.historyOptions(channel).size > 0,
      current: (key, state) => this.channels.get(key) === state,
      fanOut: (state, message) => this.fanOut(state as ChannelState, message),
    });
  }

  async start(): Promise<void> {
    await this.engine.start(this);
    // One timer for every connection's token expiry and lock refresh, instead of timers each.
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
  }

  get accepting(): boolean {
    return !this.draining;
  }

  /**
   * Registers an authenticated connection: applies the tenant and per-user limits (the user's
   * oldest connections beyond the limit are closed, on whichever node they are) and announces
   * the user online. Throws HubError `limit_exceeded` when the tenant is full.
   */
  async openSession(identity: Identity, link: ClientLink, options: SessionOptions = {}): Promise<Session> {
    if (this.draining) throw unavailable('server is shutting down');
    const limits = this.config.limits;
    const registry = this.engine.connections;
    const tenantLimit = limits.connectionsPerTenant;
    const tenantFull = () => {
      this.metrics.denialsTotal.inc({ reason: 'tenant_full' });
      this.logger.info({ event: 'denied', reason: 'tenant_full', tenant: identity.tenant, user: identity.userId }, 'connection denied');
      return limitExceeded(`tenant ${identity.tenant} has its maximum of ${tenantLimit} connections`);
    };
    // A full tenant still takes a client back that names its own previous connection: that one
    // is replaced, so the count does not grow (checked once this one is registered).
    const full = tenantLimit > 0 && (await registry.tenantCount(identity.tenant)) >= tenantLimit;
    if (full && options.replaces === undefined) throw tenantFull();
    const session = new Session(this, newConnectionId(), identity, link, options);
    const entry: ConnectionEntry = { connectionId: session.id, userId: identity.userId, connectedAt: session.connectedAt, announce: userEventData(identity) };
    const userConnections = await registry.add(identity.tenant, entry);
    const predecessor = options.replaces !== undefined && userConnections.some((c) => c.connectionId === options.replaces) ? options.replaces : undefined;
    // Without its predecessor there, the slot must really be free (it may have left meanwhile).
    if (full && predecessor === undefined && (await registry.tenantCount(identity.tenant)) > tenantLimit) {
      await registry.remove(identity.tenant, entry).catch(() => undefined);
      throw tenantFull();
    }
    if (predecessor !== undefined) {
      void this.engine.broker
        .publishControl({
          kind: 'disconnect',
          tenant: identity.tenant,
          userId: identity.userId,
          connectionId: predecessor,
          code: CloseCode.ConnectionReplaced,
          reason: 'replaced by a new connection of the same client',
        })
        .catch((err) => this.logger.warn({ err, connection: predecessor }, 'replaced connection not closed'));
    }
    this.sessions.set(session.id, session);
    this.metrics.connections.inc({ transport: link.transport });
    this.metrics.connectsTotal.inc({ transport: link.transport });
    this.logger.info(
      { event: 'connect', connection: session.id, tenant: identity.tenant, user: identity.userId, transport: link.transport, route: options.route },
      'client connected',
    );
    // The tenant-wide channel carries only user:online / user:offline: no subscription without them.
    if (this.config.presence.userEvents) {
      const tenantSub = new Subscription(session, TENANT_CHANNEL, channelKey(identity.tenant, TENANT_CHANNEL), this.tenantRule, false, true);
      session.tenantSubscription = tenantSub;
      // Held until the transport has told the client it is connected (Session.ready).
      await this.attach(tenantSub);
    }
    // The replaced connection is on its way out: it counts neither against the user's limit nor as their presence.
    const current = predecessor === undefined ? userConnections : userConnections.filter((c) => c.connectionId !== predecessor);
    if (limits.connectionsPerUser > 0 && current.length > limits.connectionsPerUser) {
      for (const victim of current.slice(0, current.length - limits.connectionsPerUser)) {
        void this.engine.broker.publishControl({
          kind: 'disconnect',
          tenant: identity.tenant,
          connectionId: victim.connectionId,
          code: CloseCode.ConnectionReplaced,
          reason: `more than ${limits.connectionsPerUser} connections for this user; the oldest was closed`,
        });
      }
    }
    if (current.length === 1 && predecessor === undefined && this.config.presence.userEvents) {
      void this.announceUser(session, 'user:online');
    }
    return session;
  }

  /** @internal Called by Session when its transport reports the connection ended. */
  async sessionClosed(session: Session, code: number): Promise<void> {
    this.sessions.delete(session.id);
    this.metrics.connections.dec({ transport: session.link.transport });
    this.metrics.disconnectsTotal.inc({ code: String(code) });
    this.logger.info(
      { event: 'disconnect', connection: session.id, tenant: session.tenant, user: session.identity.userId, code, transport: session.link.transport },
      'client disconnected',
    );
    if (session.tenantSubscription) this.detach(session.tenantSubscription);
    if (session.locks.size > 0) void session.locks.releaseAll();
    for (const signal of session.signals.drain()) {
      const base = signal.data !== null && typeof signal.data === 'object' && !Array.isArray(signal.data) ? signal.data : { data: signal.data };
      const data = { ...base, userId: session.identity.userId, reason: 'disconnected' };
      this.publish(session.tenant, { channels: [signal.channel], event: signal.endEvent, data }, 'api').catch((err) =>
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
      if (last && this.config.presence.userEvents && !this.draining) await this.announceUser(session, 'user:offline');
    } catch (err) {
      this.logger.warn({ err, connection: session.id }, 'connection registry update failed');
    }
  }

  /** @internal Adds a subscription; the channel's first local subscriber subscribes the node at the engine. */
  async attach(sub: Subscription): Promise<void> {
    let state = this.channels.get(sub.key);
    if (!state) {
      const created: ChannelState = { subscribers: new Set(), ready: this.engine.broker.subscribe(sub.key) };
      state = created;
      this.channels.set(sub.key, created);
      this.metrics.channels.set(this.channels.size);
      created.ready.catch(() => {
        // Roll back so the next subscriber tries the engine again.
        if (this.channels.get(sub.key) === created) this.channels.delete(sub.key);
      });
    }
    state.subscribers.add(sub);
    await state.ready;
  }

  /** @internal Removes a subscription; the channel's last local subscriber unsubscribes the node. */
  detach(sub: Subscription): void {
    const state = this.channels.get(sub.key);
    if (!state || !state.subscribers.delete(sub) || state.subscribers.size > 0) return;
    this.channels.delete(sub.key);
    this.metrics.channels.set(this.channels.size);
    this.engine.broker.unsubscribe(sub.key).catch((err) => this.logger.warn({ err, key: sub.key }, 'engine unsubscribe failed'));
  }

  /** See EngineHandler: fans a channel's message out to this node's subscribers. */
  onChannelMessage(message: ChannelMessage): void {
    const state = this.channels.get(message.key);
    if (!state || this.repairs.hold(message.key, state, message)) return;
    this.fanOut(state, message);
  }

  /** See EngineHandler: every channel waits for its repair (see DeliveryRepair). */
  onInterrupted(): void {
    // Closing the engine at shutdown ends its connections too; there is nothing left to repair.
    if (this.draining) return;
    this.logger.warn({ event: 'engine_interrupted' }, 'engine delivery interrupted; channels wait for a repair from history');
    this.repairs.interrupt(this.channels.values());
  }

  /** See EngineHandler: repairs every channel from history, then lets it go live again. */
  onResumed(): void {
    this.logger.info({ event: 'engine_resumed' }, 'engine delivery back');
    this.repairs.resume(this.channels.entries());
  }

  /** See EngineHandler: announces, once across nodes, the departures of a vanished node's users. */
  onExpired(entry: ExpiredEntry): void {
    if (this.draining) return;
    if (entry.kind === 'user') {
      if (!this.config.presence.userEvents) return;
      const data = { ...entry.announce, userId: entry.userId };
      this.store(entry.tenant, { channels: [TENANT_CHANNEL], event: 'user:offline', data }, 'api').catch((err) =>
        this.logger.warn({ err, event: 'user:offline' }, 'user presence event failed'),
      );
      return;
    }
    const { channel } = splitChannelKey(entry.key);
    if (!this.policy.resolve(channel)?.rule.joinLeave) return;
    this.engine.broker.publishJoinLeave('leave', entry.key, entry.user).catch((err) => this.logger.warn({ err, channel }, 'leave not published'));
  }

  private fanOut(state: ChannelState, message: ChannelMessage): void {
    if (message.kind === 'pub') {
      const out = new OutboundPublication(message.publication);
      let delivered = 0;
      for (const sub of state.subscribers) if (sub.deliver(out)) delivered += 1;
      this.metrics.deliveriesTotal.inc(delivered);
      return;
    }
    const { channel } = splitChannelKey(message.key);
    // A user is not told of their own arrival: across nodes the join comes back after their subscribe.
    for (const sub of state.subscribers) {
      if (!sub.pending && sub.session.identity.userId !== message.user.userId) sub.session.link.sendJoinLeave(message.kind, channel, message.user);
    }
  }

  /** See EngineHandler: node-wide commands. */
  onControl(command: ControlCommand): void {
    if (command.kind !== 'disconnect') return;
    for (const session of this.matchingSessions(command.tenant, command.userId, command.connectionId)) {
      try {
        session.close(command.code, command.reason);
      } catch (err) {
        this.logger.warn({ err, connection: session.id }, 'close failed');
      }
    }
  }

  /**
   * Publishes one event to one or more channels of a tenant: one id for all of them, an offset
   * each. Resolves once every channel's publication is stored.
   */
  async publish(tenant: string, request: PublishRequest, source: 'api' | 'client'): Promise<PublishOutcome> {
    // Channel keys are `tenant:channel`: a tenant name with ':' could reach another tenant's channels.
    if (!TENANT_NAME.test(tenant)) throw badRequest(TENANT_NAME_RULE, 'tenant');
    if (request.channels.length === 0) throw badRequest('at least one channel is required', 'channels');
    request.channels.forEach((channel, i) => {
      const problem = channelNameProblem(channel);
      if (problem) throw badRequest(problem, request.channels.length > 1 ? `channels.${i}` : 'channel');
    });
    const eventProblem = eventNameProblem(request.event);
    if (eventProblem) throw badRequest(eventProblem, 'event');
    // On the parsed value, before anything encodes it: a value too deep would overflow JSON.stringify.
    const problem = this.dataProblem(request.data);
    if (problem) throw badRequest(`data: ${problem}`, 'data');
    return this.store(tenant, request, source);
  }

  /** Why `data` may not be published under `limits.maxDataDepth` and `limits.maxDataBytes`, or undefined. */
  dataProblem(data: unknown): string | undefined {
    const { maxDataDepth, maxDataBytes } = this.config.limits;
    return dataProblem(data, { maxDepth: maxDataDepth, maxBytes: maxDataBytes });
  }

  /** Publishes without validating names (the hub's own `$` channels). */
  private async store(tenant: string, request: PublishRequest, source: 'api' | 'client'): Promise<PublishOutcome> {
    const ts = Date.now();
    const idempotency = request.idempotencyKey ? { key: request.idempotencyKey, ttlMs: this.config.api.idempotencyTtl } : undefined;
    const channels = [...new Set(request.channels)];
    let results;
    try {
      // A retry of a publish that reached only some of its channels takes the id they have.
      const id = idempotency && channels.length > 1 ? await this.engine.broker.reserveId(tenant, idempotency.key, newPublicationId(), idempotency.ttlMs) : newPublicationId();
      results = await Promise.all(
        channels.map((channel) =>
          this.engine.broker.publish(
            channelKey(tenant, channel),
            { id, channel, event: request.event, data: request.data, ts, ...(request.audience ? { audience: request.audience } : {}) },
            { history: this.historyOptions(channel), ...(idempotency ? { idempotency } : {}) },
          ),
        ),
      );
    } catch (err) {
      if (err instanceof HubError) throw err;
      this.logger.error({ err, tenant }, 'publish failed');
      // Only an engine that cannot answer now is worth a retry; anything else would fail again.
      if (err instanceof EngineUnavailableError) throw unavailable('engine unavailable, publication not accepted');
      throw internal('publication failed: internal error');
    }
    const offsets: Record<string, number> = {};
    for (const r of results) offsets[r.publication.channel] = r.publication.offset;
    const duplicate = results.every((r) => r.duplicate);
    if (!duplicate) this.metrics.publicationsTotal.inc({ source }, results.length);
    return { id: results[0].publication.id, offsets, duplicate };
  }

  /** History of a channel, as the identity may see it (audience applied). */
  async history(
    tenant: string,
    identity: Identity | undefined,
    channel: string,
    query: { limit?: number; since?: RecoverySince },
    rule = this.policy.resolve(channel),
  ): Promise<{
    channel: string;
    epoch: string;
    offset: number;
    publications: Publication[];
    recovery?: ReturnType<typeof planRecovery>['result'];
    unreadable?: number[];
  }> {
    if (!TENANT_NAME.test(tenant)) throw badRequest(TENANT_NAME_RULE, 'tenant');
    const key = channelKey(tenant, channel);
    const since = query.since;
    // With `since`, the limit applies to what follows the position, so the page is read whole
    // (a last id older than the newest `limit` publications must still be found).
    const read = since ? ('offset' in since ? { afterOffset: since.offset } : {}) : query.limit !== undefined ? { limit: query.limit } : {};
    const page = await readHistory(this.engine, this.logger, key, read);
    let publications = page.publications;
    let recovery;
    if (since) {
      const plan = planRecovery(since, page, (rule?.rule.history.size ?? 0) > 0);
      publications = plan.replay;
      recovery = plan.result;
      if (query.limit !== undefined) publications = publications.slice(0, query.limit);
    }
    if (identity && rule) publications = publications.filter((p) => audienceAllows(p, rule, identity));
    return {
      channel,
      epoch: page.epoch,
      offset: page.offset,
      publications: publications.map(({ audience: _a, ...p }) => p),
      ...(recovery ? { recovery } : {}),
      ...(page.unreadable ? { unreadable: page.unreadable } : {}),
    };
  }

  /** Closes a user's connections (or one connection) on every node. Returns how many were on this node. */
  async disconnect(tenant: string, userId: string, code: number, reason: string, connectionId?: string): Promise<number> {
    const local = this.matchingSessions(tenant, userId, connectionId).length;
    await this.engine.broker.publishControl({ kind: 'disconnect', tenant, userId, ...(connectionId ? { connectionId } : {}), code, reason });
    return local;
  }

  /** @internal Logs and counts a refused request. */
  denied(session: Session, reason: string, details: Record<string, unknown>): void {
    this.metrics.denialsTotal.inc({ reason });
    this.logger.info({ event: 'denied', reason, connection: session.id, tenant: session.tenant, user: session.identity.userId, ...details }, 'request denied');
  }

  /** Connections of this node. */
  connectionStats() {
    const byTransport: Record<string, number> = {};
    const byTenant: Record<string, number> = {};
    const users = new Set<string>();
    for (const s of this.sessions.values()) {
      byTransport[s.link.transport] = (byTransport[s.link.transport] ?? 0) + 1;
      byTenant[s.tenant] = (byTenant[s.tenant] ?? 0) + 1;
      users.add(`${s.tenant}:${s.identity.userId}`);
    }
    return { total: this.sessions.size, users: users.size, byTransport, byTenant };
  }

  /** Channels with subscribers on this node, optionally of one tenant. */
  roomStats(tenant?: string) {
    const rooms: { tenant: string; channel: string; subscribers: number }[] = [];
    for (const [key, state] of this.channels) {
      const { tenant: t, channel } = splitChannelKey(key);
      if (channel === TENANT_CHANNEL || (tenant !== undefined && t !== tenant)) continue;
      rooms.push({ tenant: t, channel, subscribers: state.subscribers.size });
    }
    rooms.sort((a, b) => b.subscribers - a.subscribers || a.channel.localeCompare(b.channel));
    return { total: rooms.length, rooms };
  }

  /** Local subscriber count of a channel (routes use it for their connection limit). */
  localSubscribers(tenant: string, channel: string): number {
    return this.channels.get(channelKey(tenant, channel))?.subscribers.size ?? 0;
  }

  /** Stops accepting and closes every connection with 1012 so clients reconnect elsewhere. */
  async shutdown(): Promise<void> {
    this.draining = true;
    if (this.ticker) clearInterval(this.ticker);
    for (const session of [...this.sessions.values()]) session.close(CloseCode.ServiceRestart, 'server shutting down');
  }

  historyOptions(channel: string): HistoryOptions {
    // The tenant channel's events are live notices: nothing to keep, whatever a `*` rule says.
    const rule = channel === TENANT_CHANNEL ? this.tenantRule.rule : this.policy.resolve(channel)?.rule;
    return {
      size: rule?.history.size ?? 0,
      ttlMs: rule?.history.ttl ?? 0,
      metaTtlMs: this.config.channels.historyMetaTtl,
    };
  }

  private matchingSessions(tenant: string, userId?: string, connectionId?: string): Session[] {
    if (connectionId) {
      const s = this.sessions.get(connectionId);
      return s && s.tenant === tenant && (!userId || s.identity.userId === userId) ? [s] : [];
    }
    return [...this.sessions.values()].filter((s) => s.tenant === tenant && s.identity.userId === userId);
  }

  private async announceUser(session: Session, event: 'user:online' | 'user:offline'): Promise<void> {
    try {
      await this.store(session.tenant, { channels: [TENANT_CHANNEL], event, data: userEventData(session.identity) }, 'api');
    } catch (err) {
      this.logger.warn({ err, event }, 'user presence event failed');
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const session of this.sessions.values()) {
      if (session.locks.size > 0) void session.locks.refreshDue(now);
      const expiresAt = session.identity.expiresAt;
      if (expiresAt !== undefined && expiresAt + this.config.auth.jwt.clockTolerance <= now) {
        session.close(CloseCode.TokenExpired, 'token expired; refresh it before it expires');
      }
    }
  }
}
