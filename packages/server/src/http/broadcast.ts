import { ErrorCode } from '@herald/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { BroadcastAlias, HeraldConfig } from '../config/schema.js';
import type { Node } from '../core/node.js';
import { callerTenant } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { audience, channelName, tenantName } from './schemas.js';
import { parseOr400, sendFailure } from './validation.js';

const RESERVED_FIELDS = new Set(['token', 'rooms', 'tenant', 'idempotencyKey', 'audience']);

export const broadcastParams = z.strictObject({ name: z.string().meta({ description: 'A name from `api.broadcasts`.' }) });

export const broadcastBody = z.looseObject({
  token: z.string().optional().meta({ description: 'The API key, as seed 001 services send it.' }),
  rooms: z.array(channelName).min(1).max(100).optional().meta({ description: "Target channels; the alias's `rooms` when left out." }),
  tenant: tenantName.optional(),
  idempotencyKey: z.string().min(1).max(256).optional(),
  audience: audience.optional(),
}).meta({ description: "The event's data is the field the alias names (`call`, `order`, `notification`), else `data`, else the other fields of the body." });

const broadcastResult = z.object({
  success: z.literal(true),
  event: z.string(),
  id: z.string(),
  offsets: z.record(z.string(), z.number().int()),
  duplicate: z.boolean(),
});

function broadcastRoute(config: HeraldConfig): RouteDoc {
  const names = config.api.broadcasts.map((a) => `\`${a.name}\` → \`${a.event}\``).join(', ');
  return {
    method: 'POST',
    url: '/api/v1/broadcast/:name',
    operationId: 'broadcast',
    tag: 'publish',
    summary: 'Publish a configured event (REST alias)',
    description: `Aliases declared in \`api.broadcasts\`: ${names}.`,
    auth: 'apiKey',
    params: broadcastParams,
    body: broadcastBody,
    responses: { 200: { description: 'Published.', schema: broadcastResult }, 404: { description: 'No alias of that name.' }, ...errors(400, 401, 403, 413, 415, 500, 503) },
  };
}

/** The routes this configuration adds, for the OpenAPI document. */
export function broadcastRouteDocs(config: HeraldConfig): RouteDoc[] {
  return config.api.broadcasts.length > 0 ? [broadcastRoute(config)] : [];
}

/** The event data of a broadcast body, as the alias says where it is. */
function payloadOf(alias: BroadcastAlias, body: Record<string, unknown>): unknown {
  if (alias.payload !== undefined) return body[alias.payload];
  if ('data' in body) return body.data;
  return Object.fromEntries(Object.entries(body).filter(([k]) => !RESERVED_FIELDS.has(k)));
}

/**
 * `POST /api/v1/broadcast/{name}` for every alias in `api.broadcasts`: seed 001's REST API,
 * declared in configuration. Publishes the alias's event to the body's `rooms`.
 */
export function broadcastRoutes(app: FastifyInstance, node: Node): void {
  const aliases = new Map(node.config.api.broadcasts.map((a) => [a.name, a]));
  if (aliases.size === 0) return;
  addRoute(app, node.config, broadcastRoute(node.config), async (request, reply) => {
    const params = parseOr400(broadcastParams, request.params, reply);
    if (!params) return reply;
    const alias = aliases.get(params.name);
    if (!alias) {
      return reply.code(404).send({ error: { code: ErrorCode.NotFound, message: `no broadcast named ${params.name}; configured: ${[...aliases.keys()].join(', ')}` } });
    }
    const body = parseOr400(broadcastBody, request.body, reply);
    if (!body) return reply;
    const data = payloadOf(alias, body);
    if (alias.payload !== undefined && data === undefined) {
      return reply.code(400).send({ error: { code: ErrorCode.BadRequest, message: `${alias.payload}: required`, field: alias.payload } });
    }
    // Named as the body has it (`call`, `data`), before the hub would call it `data`.
    const dataField = alias.payload ?? ('data' in body ? 'data' : 'body');
    const problem = node.dataProblem(data);
    if (problem) return reply.code(400).send({ error: { code: ErrorCode.BadRequest, message: `${dataField}: ${problem}`, field: dataField } });
    const rooms = body.rooms ?? alias.rooms;
    if (rooms.length === 0) return reply.code(400).send({ error: { code: ErrorCode.BadRequest, message: 'rooms: give at least one room', field: 'rooms' } });
    const tenant = callerTenant(request, node.config, body.tenant);
    try {
      const outcome = await node.publish(tenant, { channels: rooms, event: alias.event, data, audience: body.audience, idempotencyKey: body.idempotencyKey }, 'api');
      return { success: true, event: alias.event, id: outcome.id, offsets: outcome.offsets, duplicate: outcome.duplicate };
    } catch (err) {
      return sendFailure(err, reply, node.logger);
    }
  });
}
