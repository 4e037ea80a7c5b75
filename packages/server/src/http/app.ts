import { broadcastRoutes } from './broadcast.js';
import { ErrorCode } from '@herald/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Hub } from '../core/hub.js';
import { channelRoutes } from './channels.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { openapiRoutes } from './openapi.js';
import { publishRoutes } from './publish.js';
import { trackRoutes } from './route-table.js';
import { statsRoutes } from './stats.js';
import { userRoutes } from './users.js';

/**
 * The HTTP API on fastify. Every route module registers itself here; errors keep one shape:
 * `{ error: { code, message, field? } }`.
 */
export function createHttpApp(hub: Hub): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: hub.config.server.bodyLimit,
    // Clients reconnecting after a 1012 should not find keep-alive sockets of a closing node.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Channel names travel URL-encoded in paths: 255 characters can take 9 bytes each. Longer ones
    // must reach the handler, to be answered 400 naming `channel` rather than 404.
    routerOptions: { maxParamLength: 16_384 },
  });
  trackRoutes(app);
  // The API takes JSON only: a text/plain body is answered 415 instead of reaching the handlers as a string.
  app.removeContentTypeParser('text/plain');
  const origins = hub.config.server.corsOrigins;
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin && (origins.length === 0 || origins.includes(origin) || origins.includes('*'))) {
      void reply.header('Access-Control-Allow-Origin', origins.length === 0 ? '*' : origin);
      void reply.header('Vary', 'Origin');
      if (request.method === 'OPTIONS') {
        void reply.header('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
        void reply.header('Access-Control-Allow-Headers', 'Authorization, Content-Type, Last-Event-ID');
        return reply.code(204).send();
      }
    }
  });
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) hub.logger.error({ err: error }, 'http request failed');
    const code = status === 413 ? ErrorCode.BadRequest : status === 415 || status === 400 ? ErrorCode.BadRequest : (error.code as string) ?? ErrorCode.Internal;
    const known = Object.values(ErrorCode).includes(code as ErrorCode) ? code : status >= 500 ? ErrorCode.Internal : ErrorCode.BadRequest;
    // Body parsing failures (not JSON, empty, too large, wrong type) name the body as the bad field.
    const field = status < 500 && error.code?.startsWith('FST_ERR_CTP_') ? { field: 'body' } : {};
    return reply.code(status).send({ error: { code: known, message: status >= 500 ? 'internal error' : error.message, ...field } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: ErrorCode.NotFound, message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
  healthRoutes(app, hub);
  metricsRoutes(app, hub);
  publishRoutes(app, hub);
  broadcastRoutes(app, hub);
  channelRoutes(app, hub);
  userRoutes(app, hub);
  statsRoutes(app, hub);
  openapiRoutes(app, hub);
  return app;
}
