import { broadcastRouteDocs } from './broadcast.js';
import { auditRouteDocs } from '../audit/sse-doc.js';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HeraldConfig } from '../config/schema.js';
import type { Node } from '../core/node.js';
import { historyRoute, presenceRoute } from './channels.js';
import { indexRoute } from './endpoints-doc.js';
import { healthRoute, readyRoute } from './health.js';
import { metricsRoute } from './metrics.js';
import { batchRoute, publishRoute } from './publish.js';
import { addRoute, type RouteAuth, type RouteDoc } from './route-doc.js';
import { errorResponse, presenceUser, publication, recoveryResult } from './schemas.js';
import { sseRouteDocs } from './sse-doc.js';
import { connectionStatsRoute, roomStatsRoute } from './stats.js';
import { streamAdminRouteDocs } from './stream-admin.js';
import { streamRouteDocs } from './streams.js';
import { disconnectRoute } from './users.js';
import { webhookStatsRoute } from '../webhooks/stats-route.js';
import { consoleRouteDocs } from '../console/route-docs.js';
import { channelInfoRoute, channelSearchRoute } from './channel-info.js';
import { configRoute } from './config-view.js';
import { connectionListRoute, lockListRoute } from './connections.js';
import { overviewRoute } from './overview.js';

type JsonSchema = Record<string, unknown>;
type Registry = z.core.$ZodRegistry<{ id: string }>;

export const openapiRoute = {
  method: 'GET',
  url: '/api/openapi.json',
  operationId: 'openapi',
  tag: 'operations',
  summary: 'This document',
  auth: 'none',
  responses: { 200: { description: 'OpenAPI 3.1 document.', schema: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }) } },
} satisfies RouteDoc;

/** The HTTP API's own routes, registered through `addRoute`. */
export const apiRoutes: readonly RouteDoc[] = [
  indexRoute,
  healthRoute,
  readyRoute,
  metricsRoute,
  openapiRoute,
  publishRoute,
  batchRoute,
  historyRoute,
  presenceRoute,
  disconnectRoute,
  connectionStatsRoute,
  roomStatsRoute,
  webhookStatsRoute,
  overviewRoute,
  connectionListRoute,
  lockListRoute,
  channelSearchRoute,
  channelInfoRoute,
  configRoute,
  ...streamRouteDocs,
  ...streamAdminRouteDocs,
];

/** Every route this configuration serves over HTTP; the document is built from this list. */
export function documentedRoutes(config: HeraldConfig): RouteDoc[] {
  return [...apiRoutes, ...broadcastRouteDocs(config), ...sseRouteDocs(config), ...auditRouteDocs(config), ...consoleRouteDocs(config)];
}

const TAGS = [
  { name: 'publish', description: 'Publish events to channels.' },
  { name: 'channels', description: 'History and presence of a channel.' },
  { name: 'users', description: 'Act on the connections of a user.' },
  { name: 'stats', description: "The answering node's connections, channels and webhooks." },
  { name: 'streams', description: 'Server-Sent Events for clients that cannot use WebSocket.' },
  { name: 'operations', description: 'Health, readiness, metrics and this document.' },
  { name: 'console', description: 'Sign-in to the web console at `/console` (when `console.enabled`); its session then stands for an API key.' },
];

const COMPONENT = '#/components/schemas/';

/** Fastify's `/a/:b` as OpenAPI's `/a/{b}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const pascal = (s: string) => s[0].toUpperCase() + s.slice(1);

function security(auth: RouteAuth, config: HeraldConfig): Record<string, string[]>[] {
  if (auth === 'none') return [];
  if (auth === 'clientToken') return [{ clientToken: [] }];
  // An empty requirement object makes the key optional.
  const keyed: Record<string, string[]>[] = config.console.enabled ? [{ apiKey: [] }, { consoleSession: [] }] : [{ apiKey: [] }];
  return auth === 'stats' && config.api.publicStats ? [{}, ...keyed] : keyed;
}

/** Registers a schema under a name (or finds the name it already has) and returns a `$ref` to it. */
function ref(registry: Registry, schema: z.ZodType, id: string): JsonSchema {
  if (!registry.has(schema)) registry.add(schema, { id });
  return { $ref: COMPONENT + registry.get(schema)!.id };
}

function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query' | 'header'): JsonSchema[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, { description, ...rest }]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    ...(description ? { description } : {}),
    schema: rest,
  }));
}

function components(registry: Registry, io: 'input' | 'output'): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => COMPONENT + id }) as { schemas: Record<string, JsonSchema> };
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]));
}

function operation(doc: RouteDoc, config: HeraldConfig, inputs: Registry, outputs: Registry): JsonSchema {
  const name = pascal(doc.operationId);
  const params = [...parameters(doc.params, 'path'), ...parameters(doc.query, 'query'), ...parameters(doc.headers, 'header')];
  const responses = Object.fromEntries(
    Object.entries(doc.responses).map(([status, r]) => {
      const contentType = r.contentType ?? 'application/json';
      const schema = r.schema ? ref(outputs, r.schema, Number(status) < 300 ? `${name}Response` : `${name}${status}`) : { type: 'string' };
      return [status, { description: r.description, content: { [contentType]: { schema } } }];
    }),
  );
  return {
    operationId: doc.operationId,
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    security: security(doc.auth, config),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(doc.body
      ? { requestBody: { required: !doc.optionalBody, content: { 'application/json': { schema: ref(inputs, doc.body, `${name}Request`) } } } }
      : {}),
    responses,
  };
}

/** The version of @herald/server. */
export function packageVersion(): string {
  try {
    // src/http and dist/http are both two levels below the package.
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the zod schemas the routes validate
 * with. Stats routes show the key as optional when `api.publicStats` is on.
 *
 * @example
 * const doc = buildOpenApi(config);
 * doc.paths['/api/v1/publish'].post.operationId; // 'publish'
 */
export function buildOpenApi(config: HeraldConfig, routes: readonly RouteDoc[] = documentedRoutes(config)) {
  const inputs: Registry = z.registry<{ id: string }>();
  const outputs: Registry = z.registry<{ id: string }>();
  // Shared pieces get their own components, so responses refer to them by name.
  outputs.add(errorResponse, { id: 'Error' });
  outputs.add(publication, { id: 'Publication' });
  outputs.add(recoveryResult, { id: 'RecoveryResult' });
  outputs.add(presenceUser, { id: 'PresenceUser' });

  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const doc of routes) {
    const path = openApiPath(doc.url);
    (paths[path] ??= {})[doc.method.toLowerCase()] = operation(doc, config, inputs, outputs);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Herald HTTP API',
      version: packageVersion(),
      description:
        'Publish events, read channel history and presence, disconnect users, and watch a Herald node. Errors are `{ "error": { "code", "message", "field"? } }`.',
    },
    tags: TAGS,
    paths,
    components: {
      schemas: { ...components(inputs, 'input'), ...components(outputs, 'output') },
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key from `api.keys`, compared in constant time. A POST body may carry it as `token` instead.',
        },
        ...(config.console.enabled
          ? {
              consoleSession: {
                type: 'apiKey',
                in: 'cookie',
                name: 'herald_console',
                description: 'A console session (POST /console/session), scoped to the signed-in user\'s tenant; requests with it also carry `X-Herald-Console: 1`.',
              },
            }
          : {}),
        clientToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A client JWT signed as `auth.jwt` configures. May come as the `token` query parameter instead.',
        },
      },
    },
  };
}

/** `GET /api/openapi.json`. */
export function openapiRoutes(app: FastifyInstance, node: Node): void {
  // Built at start-up: a schema that cannot be expressed fails here rather than on a request.
  const document = buildOpenApi(node.config);
  addRoute(app, node.config, openapiRoute, async () => document);
}
