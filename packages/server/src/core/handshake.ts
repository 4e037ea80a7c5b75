import type { Authenticator } from '../auth/authenticator.js';
import { AuthError, type Identity } from '../auth/identity.js';
import type { HeraldConfig, RouteConfig } from '../config/schema.js';
import type { ConnectionEntry } from '../engine.js';
import { DISCONNECTS, HeraldError, toHeraldError, unavailable } from './errors.js';
import type { Logger } from '../logger.js';
import type { LifecycleBus } from './events.js';
import type { ClientLink } from './outbound.js';
import type { Session, SessionOptions } from './session.js';

/** The route a connection came through, for its connection limit: the route and its channel for this identity. */
export interface RouteLimit {
  route: RouteConfig;
  channel: string;
}

export interface AdmitOptions {
  routeLimit?: RouteLimit;
  /** See SessionOptions.replaces. */
  replaces?: string;
  /** For the denial event: which transport and path refused. */
  transport: string;
  path?: string;
}

/** What the handshake needs of its node. */
export interface HandshakeNode {
  readonly config: HeraldConfig;
  readonly authenticator: Authenticator;
  readonly events: LifecycleBus;
  readonly logger: Logger;
  readonly accepting: boolean;
  tenantCount(tenant: string): Promise<number>;
  /** Connections on the route's channel: across nodes where the channel keeps presence, else this node's. */
  routeCount(limit: RouteLimit, identity: Identity): Promise<number>;
  register(tenant: string, entry: ConnectionEntry): Promise<ConnectionEntry[]>;
  unregister(tenant: string, entry: ConnectionEntry): Promise<void>;
  /** Closes connections on whichever node holds them. */
  evict(tenant: string, connectionId: string, code: number, reason: string, userId?: string): void;
  /** A session for the identity on the link, not yet registered anywhere. */
  createSession(identity: Identity, link: ClientLink, options: SessionOptions): Session;
  /** Puts the session in the node's registry and on its tenant channel; announces it. */
  admitted(session: Session, firstOfUser: boolean): Promise<void>;
}

/**
 * The one connection handshake, whatever the transport: a transport finds the credentials
 * (query, header, first frame, Socket.IO auth) and calls, in order, `authenticate` (the token),
 * `admit` (the limits a refusal before the connection can answer with an HTTP status) where it
 * can, and `open` (the session). Each throws a HeraldError whose kind tells the transport what
 * to answer (see ERRORS), and announces a denial on the bus.
 */
export class Handshake {
  constructor(private readonly node: HandshakeNode) {}

  /** Verifies the token the transport found; throws `unauthorized` with the reason, a denial announced. */
  async authenticate(token: string | undefined, where: { transport: string; path?: string }): Promise<Identity> {
    try {
      return await this.verify(token);
    } catch (err) {
      this.node.events.emit('denial', { reason: 'unauthorized', transport: where.transport, detail: (err as Error).message, ...(where.path ? { path: where.path } : {}) });
      throw err;
    }
  }

  /** Verifies a token; throws `unauthorized` with a reason written for the client. */
  async verify(token: string | undefined): Promise<Identity> {
    try {
      return await this.node.authenticator.verify(token);
    } catch (err) {
      throw new HeraldError('unauthorized', err instanceof AuthError ? err.message : 'token invalid');
    }
  }

  /**
   * Whether the route and the tenant have room for this identity, before the connection is
   * accepted. A client naming the connection it replaces may take that one's slot in the
   * tenant: `open` decides once it is registered.
   */
  async admit(identity: Identity, options: AdmitOptions): Promise<void> {
    if (!this.node.accepting) throw unavailable('server is shutting down');
    await this.checkRoute(identity, options);
    const limit = this.node.config.limits.connectionsPerTenant;
    if (limit > 0 && options.replaces === undefined && (await this.node.tenantCount(identity.tenant)) >= limit) {
      throw this.tenantFull(identity, options);
    }
  }

  /** The route's connection limit alone: for a token that came in band, after the connection was accepted. */
  async checkRoute(identity: Identity, options: AdmitOptions): Promise<void> {
    const routeLimit = options.routeLimit;
    const max = routeLimit?.route.maxConnections ?? 0;
    if (!routeLimit || max === 0) return;
    if ((await this.node.routeCount(routeLimit, identity)) < max) return;
    this.node.events.emit('denial', { reason: 'route_full', transport: options.transport, tenant: identity.tenant, userId: identity.userId, ...(options.path ? { path: options.path } : {}) });
    throw new HeraldError('routeFull', `${routeLimit.channel} has its maximum of ${max} connections`);
  }

  /**
   * Opens the session: applies the tenant limit (a client that names its own previous connection
   * replaces it instead of counting twice) and the per-user limit (the user's oldest connections
   * beyond it are closed, on whichever node they are), and announces the user online.
   */
  async open(identity: Identity, link: ClientLink, options: SessionOptions & { transport?: string } = {}): Promise<Session> {
    if (!this.node.accepting) throw unavailable('server is shutting down');
    const node = this.node;
    const limits = node.config.limits;
    const tenantLimit = limits.connectionsPerTenant;
    const where = { transport: options.transport ?? link.transport };
    try {
      // A full tenant still takes a client back that names its own previous connection: that one
      // is replaced, so the count does not grow (checked once this one is registered).
      const full = tenantLimit > 0 && (await node.tenantCount(identity.tenant)) >= tenantLimit;
      if (full && options.replaces === undefined) throw this.tenantFull(identity, where);
      const session = node.createSession(identity, link, options);
      // What a user's `user:offline` would say, kept only where such events are sent (see Node.onExpired).
      const entry: ConnectionEntry = { connectionId: session.id, userId: identity.userId, connectedAt: session.connectedAt, ...(node.config.presence.userEvents ? { announce: userEventData(identity) } : {}) };
      const userConnections = await node.register(identity.tenant, entry);
      try {
        const predecessor = options.replaces !== undefined && userConnections.some((c) => c.connectionId === options.replaces) ? options.replaces : undefined;
        // Without its predecessor there, the slot must really be free (it may have left meanwhile).
        if (full && predecessor === undefined && (await node.tenantCount(identity.tenant)) > tenantLimit) throw this.tenantFull(identity, where);
        if (predecessor !== undefined) node.evict(identity.tenant, predecessor, DISCONNECTS.replaced.close, DISCONNECTS.replaced.reason, identity.userId);
        // The replaced connection is on its way out: it counts neither against the user's limit nor as their presence.
        const current = predecessor === undefined ? userConnections : userConnections.filter((c) => c.connectionId !== predecessor);
        if (limits.connectionsPerUser > 0 && current.length > limits.connectionsPerUser) {
          const reason = `more than ${limits.connectionsPerUser} connections for this user; the oldest was closed`;
          for (const victim of current.slice(0, current.length - limits.connectionsPerUser)) node.evict(identity.tenant, victim.connectionId, DISCONNECTS.replaced.close, reason);
        }
        await node.admitted(session, current.length === 1 && predecessor === undefined);
      } catch (err) {
        // Not opened after all: its place in the registry goes back, or it would count against the limits for good.
        await node.unregister(identity.tenant, entry).catch(() => undefined);
        throw err;
      }
      return session;
    } catch (err) {
      throw toHeraldError(err, node.logger, 'session', { unavailable: 'service unavailable, reconnect' });
    }
  }

  private tenantFull(identity: Identity, where: { transport: string; path?: string }): HeraldError {
    this.node.events.emit('denial', { reason: 'tenant_full', transport: where.transport, tenant: identity.tenant, userId: identity.userId, ...(where.path ? { path: where.path } : {}) });
    return new HeraldError('tenantFull', `tenant ${identity.tenant} has its maximum of ${this.node.config.limits.connectionsPerTenant} connections`);
  }
}

/** What `user:online` and `user:offline` carry about a user. */
export function userEventData(identity: Identity): Record<string, unknown> {
  const { userId, roles, info } = identity;
  return { userId, ...info, role: roles[0] ?? null, roles };
}
