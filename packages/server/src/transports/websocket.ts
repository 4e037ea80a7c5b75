import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RecoverySince } from '@herald/protocol';
import type { WebSocket, WebSocketServer } from 'ws';
import { clientSocketServer } from './client-socket-server.js';
import type { Identity } from '../auth/identity.js';
import { DISCONNECTS, HeraldError, toHeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { Heartbeat } from './heartbeat.js';
import { NativeProtocol } from './native-protocol.js';
import { refuseUpgrade } from './raw-response.js';
import { routeLimitFor, RouteTable, type RouteMatch } from './routes.js';
import { dataFormat, envelopeFormat } from './wire-formats.js';
import { WebSocketLink } from './ws-link.js';

/**
 * The token from `?token=` or `Authorization: Bearer`. A parameter or header that is present but
 * empty counts as given (and fails as missing), so a client whose token is gone hears 4001 at once.
 */
export function upgradeToken(req: IncomingMessage, url: URL): string | undefined {
  const query = url.searchParams.get('token');
  if (query) return query;
  const header = req.headers.authorization;
  if (header !== undefined && /^Bearer\b/i.test(header)) return header.slice(6).trim();
  return query ?? undefined;
}

/** A resume position in a route's URL: `?offset=N&epoch=E` or `?lastId=ID`. */
function sinceFromQuery(url: URL): RecoverySince | undefined {
  const lastId = url.searchParams.get('lastId');
  if (lastId) return { lastId };
  const offset = url.searchParams.get('offset');
  const epoch = url.searchParams.get('epoch');
  if (offset !== null && epoch && /^\d+$/.test(offset)) return { offset: Number(offset), epoch };
  return undefined;
}

/** `?replaces=<connectionId>`: the client's previous connection, which this one takes over. */
function replacesFromQuery(url: URL): string | undefined {
  const value = url.searchParams.get('replaces');
  return value && value.length <= 64 ? value : undefined;
}

/** Whether an Origin header is allowed; no header (a non-browser client) is. */
export function originAllowed(origins: string[], origin: string | undefined): boolean {
  return origins.length === 0 || origin === undefined || origins.includes(origin) || origins.includes('*');
}

/**
 * The native WebSocket transport on `ws`: `/ws` and the configured routes. Refusals that fit
 * HTTP (wrong path, origin, a full route or tenant) happen at the upgrade; token problems close
 * the socket with 4001, as clients expect.
 */
export class WebSocketTransport {
  private readonly wss: WebSocketServer;
  private readonly routes: RouteTable;
  private readonly heartbeat: Heartbeat;
  private readonly links = new Set<WebSocketLink>();

  constructor(private readonly node: Node) {
    const config = node.config;
    this.wss = clientSocketServer(config);
    this.routes = new RouteTable(config.routes);
    this.heartbeat = new Heartbeat(config.heartbeat.interval, config.heartbeat.timeout);
  }

  /** Whether this transport serves the path (so the server's upgrade dispatcher can route to it). */
  handles(pathname: string): boolean {
    return pathname === this.node.config.websocket.path || this.routes.match(pathname) !== undefined;
  }

  /** Handles an upgrade request for a path this transport serves. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const node = this.node;
    const config = node.config;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const route = path === config.websocket.path ? undefined : this.routes.match(path);
    if (!originAllowed(config.server.corsOrigins, req.headers.origin)) {
      node.events.emit('denial', { reason: 'origin', transport: 'websocket', path });
      return refuseUpgrade(socket, 403, 'forbidden', 'origin not allowed');
    }
    if (!node.accepting) return refuseUpgrade(socket, 503, 'unavailable', 'server is shutting down');
    const token = upgradeToken(req, url);
    const replaces = replacesFromQuery(url);
    let identity: Identity | undefined;
    let authFailure: string | undefined;
    if (token !== undefined) {
      try {
        identity = await node.handshake.authenticate(token, { transport: 'websocket', path });
      } catch (err) {
        authFailure = (err as Error).message;
      }
    }
    if (identity) {
      try {
        await node.handshake.admit(identity, { routeLimit: routeLimitFor(route, identity), ...(replaces ? { replaces } : {}), transport: 'websocket', path });
      } catch (err) {
        const refusal = toHeraldError(err, node.logger, 'upgrade');
        return refuseUpgrade(socket, refusal.kind.status, refusal.code, refusal.message);
      }
    }
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, route, url, identity, authFailure, replaces));
  }

  /** Stops the heartbeat; connections are closed by the node's shutdown. */
  close(): void {
    this.heartbeat.stop();
    for (const link of this.links) link.close(DISCONNECTS.shutdown.close, DISCONNECTS.shutdown.reason);
  }

  private accept(ws: WebSocket, route: RouteMatch | undefined, url: URL, identity: Identity | undefined, authFailure: string | undefined, replaces: string | undefined): void {
    const node = this.node;
    const config = node.config;
    const dataRoute = route?.route.format === 'data';
    const appPing = route?.route.appPing ?? (dataRoute ? false : config.heartbeat.appPing);
    const link = new WebSocketLink(ws, dataRoute ? dataFormat : envelopeFormat, config.limits.sendQueueBytes, !dataRoute, appPing);
    // Closures below keep only the path: the URL (with its token) is not held for the connection's life.
    const path = url.pathname;
    if (!identity && authFailure === undefined && route && (route.route.tokenInUrl ?? dataRoute)) {
      authFailure = 'no token: give ?token= or Authorization: Bearer';
      node.events.emit('denial', { reason: 'unauthorized', transport: 'websocket', detail: authFailure, path });
    }
    if (authFailure !== undefined) {
      link.close(new HeraldError('unauthorized', authFailure).kind.close, authFailure);
      ws.on('error', () => {});
      return;
    }
    const since = route ? sinceFromQuery(url) : undefined;
    const protocol = new NativeProtocol(node, link, {
      ...(route ? { route } : {}),
      ...(since ? { since } : {}),
      ...(identity ? { identity } : {}),
      ...(replaces ? { replaces } : {}),
      path,
    });
    this.links.add(link);
    this.heartbeat.add(link, route?.route.missedPings);
    connections.set(ws, { link, protocol, transport: this });
    ws.on('message', wsOnMessage);
    ws.on('pong', wsOnPong);
    ws.on('error', wsOnError);
    ws.on('close', wsOnClose);
    protocol.start();
  }

  /** A socket closed: it leaves the transport's sets, then its protocol ends the session. */
  socketClosed(connection: Connection, code: number): void {
    this.links.delete(connection.link);
    this.heartbeat.delete(connection.link);
    connection.protocol.onClose(code);
  }

  socketError(err: Error): void {
    this.node.logger.debug({ err: err.message }, 'websocket error');
  }
}

/** What the shared listeners below need of a socket: one small record, not four closures per connection. */
interface Connection {
  link: WebSocketLink;
  protocol: NativeProtocol;
  transport: WebSocketTransport;
}
const connections = new WeakMap<WebSocket, Connection>();

function wsOnMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  connections.get(this)?.protocol.onMessage(data, isBinary);
}

function wsOnPong(this: WebSocket): void {
  const connection = connections.get(this);
  if (connection) connection.link.lastSeen = Date.now();
}

function wsOnError(this: WebSocket, err: Error): void {
  // ws reports protocol violations here (oversized or bad frames) and then closes with their code.
  connections.get(this)?.transport.socketError(err);
}

function wsOnClose(this: WebSocket, code: number): void {
  const connection = connections.get(this);
  if (!connection) return;
  connections.delete(this);
  connection.transport.socketClosed(connection, code);
}
