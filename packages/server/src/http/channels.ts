import { ErrorCode, type RecoverySince } from '@herald/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { channelKey } from '../engine.js';
import type { Node } from '../core/node.js';
import { callerTenant } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { channelParams, presenceUser, publication, recoveryResult, tenantName, tenantQuery } from './schemas.js';
import { parseOr400, sendFailure } from './validation.js';

export const historyQuery = z
  .strictObject({
    tenant: tenantName.optional(),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .meta({ description: 'At most this many: the newest ones, or with a position the oldest after it (`recovery.replayed` still counts all that were missed; ask again from the last offset for the rest).' }),
    offset: z.coerce.number().int().min(0).optional().meta({ description: 'Where the caller stopped; give `epoch` with it. Only later publications are returned, with a `recovery` result.' }),
    epoch: z.string().min(1).max(64).optional().meta({ description: 'The epoch of `offset`.' }),
    lastId: z.string().min(1).max(64).optional().meta({ description: 'The id of the last publication the caller has; instead of `offset`/`epoch`.' }),
  })
  .refine((q) => (q.offset === undefined) === (q.epoch === undefined), { message: 'give offset and epoch together', path: ['epoch'] })
  .refine((q) => q.lastId === undefined || q.offset === undefined, { message: 'give either lastId or offset/epoch, not both', path: ['lastId'] });

const historyResult = z.object({
  channel: z.string(),
  epoch: z.string(),
  offset: z.number().int().meta({ description: "The stream's latest offset." }),
  publications: z.array(publication).meta({ description: 'In offset order.' }),
  recovery: recoveryResult.optional().meta({ description: 'Present when a position (`offset`/`epoch` or `lastId`) was given: whether everything after it could be returned.' }),
  unreadable: z
    .array(z.number().int())
    .optional()
    .meta({ description: 'Offsets of kept entries that could not be read and are left out (logged on the server); absent when there are none.' }),
});

const presenceResult = z.object({ channel: z.string(), users: z.array(presenceUser) });

export const historyRoute = {
  method: 'GET',
  url: '/api/v1/channels/:channel/history',
  operationId: 'channelHistory',
  tag: 'channels',
  summary: "A channel's kept history, or what came after a position",
  description: 'The channel name is URL-encoded (`city%3A%D0%A1...`). 400 when the channel keeps no history.',
  auth: 'apiKey',
  params: channelParams,
  query: historyQuery,
  responses: { 200: { description: 'History page.', schema: historyResult }, ...errors(400, 401, 403, 500, 503) },
} satisfies RouteDoc;

export const presenceRoute = {
  method: 'GET',
  url: '/api/v1/channels/:channel/presence',
  operationId: 'channelPresence',
  tag: 'channels',
  summary: 'Who is subscribed to a channel now, across nodes',
  description: 'The channel name is URL-encoded. 400 when the channel does not keep presence.',
  auth: 'apiKey',
  params: channelParams,
  query: tenantQuery,
  responses: { 200: { description: 'Users with their connection counts.', schema: presenceResult }, ...errors(400, 401, 403, 500, 503) },
} satisfies RouteDoc;

function notKept(reply: FastifyReply, what: string, channel: string): FastifyReply {
  return reply.code(400).send({ error: { code: ErrorCode.BadRequest, message: `${what} is not kept for ${channel}`, field: 'channel' } });
}

/** `GET /api/v1/channels/:channel/history` and `/presence`. */
export function channelRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, historyRoute, async (request, reply) => {
    const params = parseOr400(channelParams, request.params, reply);
    const query = params && parseOr400(historyQuery, request.query, reply);
    if (!params || !query) return reply;
    const tenant = callerTenant(request, node.config, query.tenant);
    const rule = node.policy.resolve(params.channel);
    if (!rule || rule.rule.history.size === 0) return notKept(reply, 'history', params.channel);
    const since: RecoverySince | undefined =
      query.lastId !== undefined ? { lastId: query.lastId } : query.offset !== undefined ? { offset: query.offset, epoch: query.epoch! } : undefined;
    try {
      // No identity: the API sees every publication, whatever its audience.
      return await node.channelHistory(tenant, undefined, params.channel, { limit: query.limit, since }, rule);
    } catch (err) {
      return sendFailure(err, reply, node.logger);
    }
  });

  addRoute(app, node.config, presenceRoute, async (request, reply) => {
    const params = parseOr400(channelParams, request.params, reply);
    const query = params && parseOr400(tenantQuery, request.query, reply);
    if (!params || !query) return reply;
    const tenant = callerTenant(request, node.config, query.tenant);
    if (!node.policy.resolve(params.channel)?.rule.presence) return notKept(reply, 'presence', params.channel);
    try {
      return { channel: params.channel, users: await node.listPresence(channelKey(tenant, params.channel)) };
    } catch (err) {
      return sendFailure(err, reply, node.logger);
    }
  });
}
