import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AuditFeed } from '../audit/feed.js';
import { auditTransports } from '../audit/transports.js';
import type { Node } from '../core/node.js';
import { PusherTransport } from '../pusher/transport.js';
import { refuseUpgrade } from './raw-response.js';
import { SocketIoTransport } from './socketio.js';
import { SseTransport } from './sse.js';
import { WebSocketTransport } from './websocket.js';

/** A transport that serves WebSocket upgrades on some paths. */
interface UpgradeTransport {
  handles(path: string): boolean;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> | void;
}

/** Every transport of a node, and the one place upgrades are routed to them. */
export interface Transports {
  readonly socketio: SocketIoTransport | undefined;
  close(): void;
}

/**
 * Builds the node's transports from its configuration and routes every upgrade of the HTTP
 * server to the one serving its path. Adding a transport is: a link, a wire format, a frame
 * translator on the node's handshake, and an entry here.
 */
export function createTransports(node: Node, http: FastifyInstance, auditFeed?: AuditFeed): Transports {
  const websocket = new WebSocketTransport(node);
  const sse = new SseTransport(node, http);
  const socketio = node.config.socketio.enabled ? new SocketIoTransport(node, http.server) : undefined;
  // First: the audit path is the feed's, even where a route names the same path.
  const audit = auditFeed ? auditTransports(node, http, auditFeed) : undefined;
  const pusher = new PusherTransport(node);
  const upgrades: UpgradeTransport[] = [...(audit ? [audit.websocket] : []), websocket, ...(socketio ? [socketio] : []), ...(pusher.enabled ? [pusher] : [])];

  // Node's HTTP server removes its socket error listener before 'upgrade'. Without one, a reset
  // while an upgrade is refused or waits on a token check ends the process. One shared listener
  // is attached first thing, for the socket's whole life: ws and engine.io add and remove their
  // own at later stages. This is the only 'upgrade' listener: every transport is routed from here.
  const onUpgradeSocketError = (err: Error) => node.logger.debug({ err: err.message }, 'upgrade socket error');
  http.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', onUpgradeSocketError);
    const fail = (err: unknown) => {
      node.logger.error({ err }, 'upgrade failed');
      refuseUpgrade(socket, 500, 'internal', 'upgrade failed');
    };
    try {
      const path = (req.url ?? '/').split('?')[0];
      const transport = upgrades.find((t) => t.handles(path));
      if (!transport) return refuseUpgrade(socket, 404, 'not_found', `no WebSocket endpoint at ${path}`);
      void Promise.resolve(transport.handleUpgrade(req, socket, head)).catch(fail);
    } catch (err) {
      // An exception in an 'upgrade' listener would end the process.
      fail(err);
    }
  });

  return {
    socketio,
    close() {
      websocket.close();
      sse.close();
      socketio?.close();
      audit?.close();
      pusher.close();
    },
  };
}
