import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createAuthenticator } from './auth/authenticator.js';
import type { HeraldConfig } from './config/schema.js';
import { Hub } from './core/hub.js';
import type { Engine } from './engine.js';
import { createMemoryEngine } from './engines/memory.js';
import { createHttpApp } from './http/app.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { refuseUpgrade } from './transports/raw-response.js';
import { SocketIoTransport } from './transports/socketio.js';
import { SseTransport } from './transports/sse.js';
import { WebSocketTransport } from './transports/websocket.js';

export interface HeraldServer {
  hub: Hub;
  http: FastifyInstance;
  /** Listens on the configured host and port (port 0 picks a free one); resolves with the base URL. */
  listen(): Promise<string>;
  /** The base URL once listening, e.g. `http://127.0.0.1:5009`. */
  readonly url: string;
  /**
   * Graceful stop: refuse new connections, close clients with 1012 so they reconnect elsewhere,
   * let HTTP requests finish, close the engine. Bounded by `server.shutdownTimeout`.
   */
  close(): Promise<void>;
}

export interface CreateServerOptions {
  logger?: Logger;
  /** An engine to use instead of the one the configuration names. */
  engine?: Engine;
}

/** How often the same background engine error is logged while it repeats (a Redis outage retries every second). */
const ENGINE_ERROR_LOG_INTERVAL_MS = 10_000;

async function engineFor(config: HeraldConfig, logger: Logger): Promise<Engine> {
  if (config.engine.type === 'memory') return createMemoryEngine({ defaultMetaTtlMs: config.channels.historyMetaTtl });
  // Loaded only when configured, so the memory default never loads the Redis client.
  const { createRedisEngine } = await import('./engines/redis.js');
  const lastLogged = new Map<string, number>();
  const onError = (err: Error) => {
    const now = Date.now();
    if (now - (lastLogged.get(err.message) ?? 0) < ENGINE_ERROR_LOG_INTERVAL_MS) return;
    if (lastLogged.size > 100) lastLogged.clear();
    lastLogged.set(err.message, now);
    logger.warn({ err }, 'redis engine error');
  };
  const { presenceTtl, commandTimeout, ...connection } = config.engine.redis;
  return createRedisEngine({ ...connection, presenceTtlMs: presenceTtl, commandTimeoutMs: commandTimeout, defaultMetaTtlMs: config.channels.historyMetaTtl, onError });
}

/**
 * Builds a Herald node: hub, engine, HTTP API and transports on one HTTP server.
 *
 * @example
 * const server = await createHeraldServer(loadConfig().config);
 * console.log(await server.listen());
 */
export async function createHeraldServer(config: HeraldConfig, options: CreateServerOptions = {}): Promise<HeraldServer> {
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = createMetrics();
  const engine = options.engine ?? (await engineFor(config, logger));
  const hub = new Hub({ config, engine, authenticator: createAuthenticator(config), logger, metrics });
  const http = createHttpApp(hub);
  const websocket = new WebSocketTransport(hub);
  const sse = new SseTransport(hub, http);
  const socketio = config.socketio.enabled ? new SocketIoTransport(hub, http.server) : undefined;
  const upgradeHandlers: { handles(path: string): boolean; handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> | void }[] = [
    websocket,
    ...(socketio ? [socketio] : []),
  ];

  // Node's HTTP server removes its socket error listener before 'upgrade'. Without one, a reset
  // while an upgrade is refused or waits on a token check ends the process. One shared listener
  // is attached first thing, for the socket's whole life: ws and engine.io add and remove their
  // own at later stages. This is the only 'upgrade' listener: every transport is routed from here.
  const onUpgradeSocketError = (err: Error) => logger.debug({ err: err.message }, 'upgrade socket error');
  http.server.on('upgrade', (req, socket, head) => {
    socket.on('error', onUpgradeSocketError);
    const fail = (err: unknown) => {
      logger.error({ err }, 'upgrade failed');
      refuseUpgrade(socket, 500, 'internal', 'upgrade failed');
    };
    try {
      const path = (req.url ?? '/').split('?')[0];
      const handler = upgradeHandlers.find((h) => h.handles(path));
      if (!handler) return refuseUpgrade(socket, 404, 'not_found', `no WebSocket endpoint at ${path}`);
      void Promise.resolve(handler.handleUpgrade(req, socket, head)).catch(fail);
    } catch (err) {
      // An exception in an 'upgrade' listener would end the process.
      fail(err);
    }
  });

  await hub.start();
  let url = '';
  let closing: Promise<void> | undefined;

  return {
    hub,
    http,
    get url() {
      return url;
    },
    async listen() {
      await http.listen({ port: config.server.port, host: config.server.host });
      const address = http.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
      return url;
    },
    close() {
      closing ??= (async () => {
        const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.server.shutdownTimeout).unref());
        await hub.shutdown();
        websocket.close();
        sse.close();
        socketio?.close();
        const drained = (async () => {
          while (hub.sessions.size > 0) await new Promise((r) => setTimeout(r, 20));
        })();
        await Promise.race([drained, deadline]);
        // In-flight requests get a moment to finish; then streams and keep-alive sockets are cut.
        const httpClosed = http.close();
        await Promise.race([httpClosed, new Promise((resolve) => setTimeout(resolve, 250).unref())]);
        http.server.closeAllConnections();
        await Promise.race([httpClosed, deadline]);
        await engine.close();
      })();
      return closing;
    },
  };
}
