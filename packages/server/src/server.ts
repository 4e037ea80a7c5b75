import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { startAuditFeed } from './audit/feed.js';
import { createAuthenticator } from './auth/authenticator.js';
import type { HeraldConfig } from './config/schema.js';
import { Node } from './core/node.js';
import type { Engine } from './engine.js';
import { createMemoryEngine } from './engines/memory.js';
import { createHttpApp } from './http/app.js';
import { withConsoleLinks } from './console/link-authenticator.js';
import { ConsoleSessions } from './console/sessions.js';
import { createLogger, type Logger } from './logger.js';
import { logLifecycle } from './observability/logs.js';
import { countLifecycle, createMetrics, type Metrics } from './observability/metrics.js';
import { createTransports } from './transports/registry.js';
import { startWebhooks, type WebhookService } from './webhooks/start.js';
import { webhookStatsRoutes } from './webhooks/stats-route.js';

export interface HeraldServer {
  node: Node;
  metrics: Metrics;
  /** Lifecycle webhooks and publish proxies (`webhooks:`). */
  webhooks: WebhookService;
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

/** The engine the configuration names, with its background errors logged at most every 10 s each. */
export async function engineFor(config: HeraldConfig, logger: Logger): Promise<Engine> {
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
  const { presenceTtl, commandTimeout, waitTimeout, ...connection } = config.engine.redis;
  return createRedisEngine({
    ...connection,
    presenceTtlMs: presenceTtl,
    commandTimeoutMs: commandTimeout,
    waitTimeoutMs: waitTimeout,
    defaultMetaTtlMs: config.channels.historyMetaTtl,
    onError,
  });
}

/**
 * Builds a Herald node: the node (engine owner), its HTTP API and transports on one HTTP
 * server, and the metrics and logs kept from its lifecycle events.
 *
 * @example
 * const server = await createHeraldServer(loadConfig().config);
 * console.log(await server.listen());
 */
export async function createHeraldServer(config: HeraldConfig, options: CreateServerOptions = {}): Promise<HeraldServer> {
  const logger = options.logger ?? createLogger(config.log.level);
  const engine = options.engine ?? (await engineFor(config, logger));
  const clientTokens = createAuthenticator(config);
  const consoleSessions = config.console.enabled ? new ConsoleSessions(config, clientTokens) : undefined;
  const authenticator = consoleSessions ? withConsoleLinks(clientTokens, consoleSessions) : clientTokens;
  const node = new Node({ config, engine, authenticator, logger });
  const metrics = createMetrics();
  countLifecycle(node.events, metrics);
  logLifecycle(node.events, logger);
  const webhooks = startWebhooks(node, metrics.registry);
  const http = createHttpApp(node, metrics, consoleSessions);
  webhookStatsRoutes(http, config, webhooks);
  const transports = createTransports(node, http, config.audit.enabled ? startAuditFeed(node, metrics.registry) : undefined);

  await node.start();
  let url = '';
  let closing: Promise<void> | undefined;

  return {
    node,
    metrics,
    webhooks,
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
        await node.shutdown();
        transports.close();
        const drained = (async () => {
          while (node.sessions.size > 0) await new Promise((r) => setTimeout(r, 20));
        })();
        await Promise.race([drained, deadline]);
        // In-flight requests get a moment to finish; then streams and keep-alive sockets are cut.
        const httpClosed = http.close();
        await Promise.race([httpClosed, new Promise((resolve) => setTimeout(resolve, 250).unref())]);
        http.server.closeAllConnections();
        await Promise.race([httpClosed, deadline]);
        // The disconnects of the shutdown are queued too: sent while the deadline allows.
        await webhooks.drain(deadline);
        webhooks.close();
        await node.closeEngine();
      })();
      return closing;
    },
  };
}
