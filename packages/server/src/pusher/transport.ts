import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { clientSocketServer } from '../transports/client-socket-server.js';
import { DISCONNECTS, toHeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { Heartbeat } from '../transports/heartbeat.js';
import { refuseUpgrade } from '../transports/raw-response.js';
import { originAllowed } from '../transports/websocket.js';
import { anonymousIdentity, PusherApps } from './apps.js';
import { pusherCodeOf, PusherCode } from './codes.js';
import { PusherConnection } from './connection.js';
import { PusherLink } from './link.js';

/** The protocol versions served: pusher-js 7 and 8 speak 7; 5 and 6 differ only in what 7 added. */
const PROTOCOLS = new Set([5, 6, 7]);

/** Frames a client may send before its session is open; they wait for it. */
const MAX_EARLY_FRAMES = 32;

/** Why a URL is not one this transport serves, as a Pusher code and message; undefined when it is. */
function urlProblem(url: URL): { code: number; message: string } | undefined {
  const protocol = url.searchParams.get('protocol');
  if (protocol === null) return { code: PusherCode.NoProtocolVersion, message: 'No protocol version supplied: add ?protocol=7' };
  if (!/^\d{1,3}$/.test(protocol)) return { code: PusherCode.InvalidVersion, message: `Invalid version string format: ${JSON.stringify(protocol.slice(0, 20))}` };
  if (!PROTOCOLS.has(Number(protocol))) return { code: PusherCode.UnsupportedProtocol, message: `Unsupported protocol version ${protocol}: this server speaks 5 to 7` };
  return undefined;
}

/**
 * The Pusher Channels protocol's WebSocket endpoint, `{pusher.path}/{key}` (docs/pusher.md).
 * Every refusal past the upgrade is told in Pusher's way, a `pusher:error` and its close code,
 * because pusher-js reads those and not an HTTP status.
 */
export class PusherTransport {
  private readonly wss: WebSocketServer;
  private readonly heartbeat: Heartbeat;
  private readonly apps: PusherApps;
  private readonly links = new Set<PusherLink>();

  constructor(private readonly node: Node) {
    const config = node.config;
    this.apps = new PusherApps(config.pusher);
    this.wss = clientSocketServer(config);
    this.heartbeat = new Heartbeat(config.pusher.activityTimeout, config.heartbeat.timeout);
  }

  /** Whether any app is configured: without one the endpoint is not served. */
  get enabled(): boolean {
    return this.apps.size > 0;
  }

  handles(path: string): boolean {
    return this.enabled && path.startsWith(`${this.node.config.pusher.path}/`);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const node = this.node;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!originAllowed(node.config.server.corsOrigins, req.headers.origin)) {
      node.events.emit('denial', { reason: 'origin', transport: 'pusher', path: url.pathname });
      return refuseUpgrade(socket, 403, 'forbidden', 'origin not allowed');
    }
    if (!node.accepting) return refuseUpgrade(socket, 503, 'unavailable', 'server is shutting down');
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.accept(ws, url));
  }

  close(): void {
    this.heartbeat.stop();
    for (const link of this.links) link.close(DISCONNECTS.shutdown.close, DISCONNECTS.shutdown.reason);
  }

  private async accept(ws: WebSocket, url: URL): Promise<void> {
    const node = this.node;
    const path = url.pathname;
    const link = new PusherLink(ws, node.config.limits.sendQueueBytes);
    ws.on('error', (err) => node.logger.debug({ err: err.message }, 'pusher socket error'));
    const key = path.slice(node.config.pusher.path.length + 1);
    const app = this.apps.withKey(key);
    const problem = key.includes('/') ? { code: PusherCode.PathNotFound, message: `no Pusher endpoint at ${path}` } : urlProblem(url);
    if (problem) return link.closeWith(problem.code, problem.message);
    if (!app) {
      node.events.emit('denial', { reason: 'unauthorized', transport: 'pusher', detail: 'unknown app key', path });
      return link.closeWith(PusherCode.AppNotFound, `App key ${key.slice(0, 128)} not in this cluster`);
    }
    // What the client sends before its session opens waits for it (pusher-js sends nothing until told its socket id).
    const early: [Buffer, boolean][] = [];
    let connection: PusherConnection | undefined;
    let closedEarly: number | undefined;
    ws.on('message', (data: Buffer, isBinary) => {
      if (connection) return connection.onMessage(data, isBinary);
      if (early.length >= MAX_EARLY_FRAMES) return link.closeWith(PusherCode.OverCapacity, 'too many frames before pusher:connection_established');
      early.push([data, isBinary]);
    });
    ws.on('pong', () => (link.lastSeen = Date.now()));
    ws.on('close', (code) => {
      this.links.delete(link);
      this.heartbeat.delete(link);
      if (connection) connection.onClose(code);
      else closedEarly = code;
    });
    const identity = anonymousIdentity(app);
    try {
      await node.handshake.admit(identity, { transport: 'pusher', path });
      const session = await node.handshake.open(identity, link, { transport: 'pusher', userEvents: false });
      link.session = session;
      connection = new PusherConnection(node, app, link, session);
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'pusher connect');
      return link.closeWith(pusherCodeOf(refusal), refusal.message);
    }
    if (closedEarly !== undefined) return connection.onClose(closedEarly);
    this.links.add(link);
    this.heartbeat.add(link);
    connection.established(node.config.pusher.activityTimeout);
    connection.session.ready();
    for (const [data, isBinary] of early.splice(0)) connection.onMessage(data, isBinary);
  }
}
