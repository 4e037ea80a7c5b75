import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import type { z } from 'zod';
import type { HeraldConfig } from '../config/schema.js';
import { apiKeyGuard } from './api-auth.js';
import { errorResponse } from './schemas.js';

/**
 * Who may call a route: anyone, an API key holder, (stats) anyone when `api.publicStats` is on
 * and an API key holder otherwise, or a client with a JWT (checked by the route itself).
 */
export type RouteAuth = 'none' | 'apiKey' | 'stats' | 'clientToken';

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Defaults to `application/json`. */
  contentType?: string;
}

/**
 * One HTTP route: what fastify serves and what the OpenAPI document says, from one object, so
 * the two cannot disagree about the path, method, auth or schemas.
 */
export interface RouteDoc {
  method: 'GET' | 'POST';
  /** Fastify syntax: `/api/v1/channels/:channel/history`. */
  url: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  auth: RouteAuth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
  /** The body may be left out entirely. */
  optionalBody?: boolean;
  responses: Record<number, ResponseDoc>;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request; `error.field` names the offending field (for publication data past `limits.maxDataDepth` or `limits.maxDataBytes`, `data`).',
  401: 'Missing or invalid API key.',
  403: 'The API key is limited to another tenant.',
  413: 'Body larger than `server.bodyLimit`.',
  406: 'The request does not accept `text/event-stream`.',
  415: 'Body is not `application/json`.',
  500: 'The request failed for a reason other than an outage and would fail again (`internal`); the cause is in the server log.',
  503: 'The engine is unavailable (Redis down or not answering) or the server is shutting down (`unavailable`): retry, with the same `idempotencyKey` for a publish.',
};

/** Standard error responses, all with the `{ error }` body. */
export function errors(...statuses: number[]): Record<number, ResponseDoc> {
  return Object.fromEntries(statuses.map((s) => [s, { description: ERROR_DESCRIPTIONS[s] ?? 'Error.', schema: errorResponse }]));
}

/**
 * Registers a documented route, with the API key check its `auth` asks for.
 *
 * @example
 * addRoute(app, node.config, healthRoute, async () => ({ status: 'ok' }));
 */
export function addRoute(app: FastifyInstance, config: HeraldConfig, doc: RouteDoc, handler: RouteHandlerMethod): void {
  const guard =
    doc.auth === 'apiKey' || (doc.auth === 'stats' && !config.api.publicStats)
      ? apiKeyGuard(config)
      : doc.auth === 'stats'
        ? apiKeyGuard(config, { optional: true })
        : undefined;
  app.route({ method: doc.method, url: doc.url, ...(guard ? { preHandler: guard } : {}), handler });
}
