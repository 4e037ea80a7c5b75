import { broadcastRoutes } from './broadcast.js';
import { ErrorCode } from '@herald/protocol';
import { answerParserRefusal } from '../transports/raw-response.js';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Node } from '../core/node.js';
import type { Metrics } from '../observability/metrics.js';
import { channelRoutes } from './channels.js';
import { endpointRoutes } from './endpoints.js';
import { errorReply } from './error-replies.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { openapiRoutes } from './openapi.js';
import { publishRoutes } from './publish.js';
import { pusherRoutes } from '../pusher/http-api.js';
import { trackRoutes } from './route-table.js';
import { statsRoutes } from './stats.js';
import { channelInfoRoutes } from './channel-info.js';
import { configRoutes } from './config-view.js';
import { connectionRoutes } from './connections.js';
import { overviewRoutes } from './overview.js';
import { streamAdminRoutes } from './stream-admin.js';
import { streamRoutes } from './streams.js';
import { userRoutes } from './users.js';
import { consoleCaller, consoleRoutes } from '../console/routes.js';
import type { ConsoleSessions } from '../console/sessions.js';

/**
 * The HTTP API on fastify. Every route module registers itself here; errors keep one shape:
 * `{ error: { code, message, field? } }`.
 */
export function createHttpApp(node: Node, metrics: Metrics, consoleSessions?: ConsoleSessions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: node.config.server.bodyLimit,
    // Clients reconnecting after a 1012 should not find keep-alive sockets of a closing node.
    forceCloseConnections: 'idle',
    // Answered by the hook below instead, in the API's error shape.
    return503OnClosing: false,
    // Channel names travel URL-encoded in paths: 255 characters can take 9 bytes each. Longer ones
    // must reach the handler, to be answered 400 naming `channel` rather than 404.
    routerOptions: { maxParamLength: 16_384 },
    // Errors fastify answers before routing (a path that is not valid percent-encoding, a segment
    // past maxParamLength) get the API's error shape too.
    // Requests the HTTP parser refuses (431 headers too large, 400 a bad character) never reach
    // fastify's handlers: answered here in the API's error shape rather than fastify's own.
    clientErrorHandler: answerParserRefusal,
    frameworkErrors: (error, _request, reply) => {
      const { status, error: body } = errorReply(error, node.logger, node.config.server.bodyLimit);
      return (reply as FastifyReply).code(status).send({ error: body });
    },
  });
  trackRoutes(app);
  // The API takes JSON only: a text/plain body is answered 415 instead of reaching the handlers as a string.
  app.removeContentTypeParser('text/plain');
  // Requests that still arrive on busy keep-alive connections once the close began are sent elsewhere.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  const origins = node.config.server.corsOrigins;
  // One callback-style hook for every request (no promise per request): the close, then CORS.
  app.addHook('onRequest', (request, reply, done) => {
    if (closing) {
      void reply.header('Connection', 'close');
      void reply.code(503).send({ error: { code: ErrorCode.Unavailable, message: 'server is shutting down' } });
      return;
    }
    const origin = request.headers.origin;
    if (origin && (origins.length === 0 || origins.includes(origin) || origins.includes('*'))) {
      void reply.header('Access-Control-Allow-Origin', origins.length === 0 ? '*' : origin);
      void reply.header('Vary', 'Origin');
      if (request.method === 'OPTIONS') {
        void reply.header('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
        void reply.header('Access-Control-Allow-Headers', 'Authorization, Content-Type, Last-Event-ID');
        void reply.code(204).send();
        return;
      }
    }
    done();
  });
  app.setErrorHandler((error, _request, reply) => {
    const { status, error: body } = errorReply(error, node.logger, node.config.server.bodyLimit);
    return reply.code(status).send({ error: body });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: ErrorCode.NotFound, message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
  if (consoleSessions) {
    app.decorate('sessionCaller', consoleCaller(consoleSessions));
    consoleRoutes(app, node, consoleSessions);
  }
  healthRoutes(app, node);
  metricsRoutes(app, node, metrics);
  publishRoutes(app, node);
  streamRoutes(app, node);
  streamAdminRoutes(app, node);
  broadcastRoutes(app, node);
  channelRoutes(app, node);
  userRoutes(app, node);
  statsRoutes(app, node);
  overviewRoutes(app, node);
  connectionRoutes(app, node);
  channelInfoRoutes(app, node);
  configRoutes(app, node);
  openapiRoutes(app, node);
  endpointRoutes(app, node);
  pusherRoutes(app, node);
  return app;
}
