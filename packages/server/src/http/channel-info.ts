import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ResolvedRule } from '../core/channel-policy.js';
import type { Node } from '../core/node.js';
import { channelKey } from '../engine.js';
import { callerTenant, tenantScope } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { channelParams, presenceUser, tenantName, tenantQuery } from './schemas.js';
import { clusterStats } from './stats.js';
import { parseOr400, sendFailure } from './validation.js';

/** Channels in one answer at most, busiest first. */
const MAX_CHANNELS = 500;

export const channelSearchQuery = z.strictObject({
  tenant: tenantName.optional().meta({ description: "Only this tenant's channels. A tenant-bound caller sees only its own; without either, every tenant." }),
  pattern: z
    .string()
    .max(255)
    .optional()
    .meta({ description: 'Channel names matching this: `*` stands for any characters (`city:*`); without `*`, names containing it.' }),
});

const permission = z.union([z.enum(['all', 'none', 'owner']), z.object({ roles: z.array(z.string()).optional(), users: z.array(z.string()).optional() })]);

const ruleSummary = z
  .object({
    pattern: z.string().meta({ description: 'The `channels.rules` pattern that matched; `(unmatched)` when `channels.unmatched: allow` let the name through.' }),
    subscribe: permission,
    publish: permission.meta({ description: 'Who may publish from a client connection (the HTTP API always may).' }),
    history: z.object({ size: z.number().int(), ttl: z.number().int() }),
    presence: z.boolean(),
    joinLeave: z.boolean(),
    maxSubscribers: z.number().int(),
    locks: z.boolean(),
  })
  .nullable()
  .meta({ description: 'Null when no rule matches the name (nobody may subscribe).' });

const channelRow = z.object({ tenant: z.string(), channel: z.string(), subscribers: z.number().int(), rule: ruleSummary });

const channelDetail = z.object({
  tenant: z.string(),
  channel: z.string(),
  rule: ruleSummary,
  subscribers: z.number().int().meta({ description: 'Connections subscribed, on the nodes that answered.' }),
  nodes: z.number().int(),
  answered: z.number().int(),
  presence: z.array(presenceUser).optional().meta({ description: 'Who is in the channel, when it keeps presence.' }),
  history: z
    .object({ epoch: z.string(), offset: z.number().int() })
    .optional()
    .meta({ description: "The stream's epoch and latest offset, when it keeps history (read it with `/history`)." }),
});

export const channelSearchRoute = {
  method: 'GET',
  url: '/api/v1/channels',
  operationId: 'searchChannels',
  tag: 'channels',
  summary: 'Channels with subscribers on every node, by tenant and name pattern, with their rules',
  auth: 'apiKey',
  query: channelSearchQuery,
  responses: {
    200: {
      description: `Busiest first, at most ${MAX_CHANNELS}.`,
      schema: z.object({ nodes: z.number().int(), answered: z.number().int(), total: z.number().int().meta({ description: 'Channels that matched.' }), channels: z.array(channelRow) }),
    },
    ...errors(400, 401, 403),
  },
} satisfies RouteDoc;

export const channelInfoRoute = {
  method: 'GET',
  url: '/api/v1/channels/:channel',
  operationId: 'channelInfo',
  tag: 'channels',
  summary: "A channel's rule, subscribers across nodes, presence and history position",
  description: 'The channel name is URL-encoded.',
  auth: 'apiKey',
  params: channelParams,
  query: tenantQuery,
  responses: { 200: { description: 'The channel.', schema: channelDetail }, ...errors(400, 401, 403, 500, 503) },
} satisfies RouteDoc;

function summary(resolved: ResolvedRule | undefined): z.infer<typeof ruleSummary> {
  if (!resolved) return null;
  const { rule } = resolved;
  return {
    pattern: resolved.unmatched ? '(unmatched)' : rule.pattern,
    subscribe: rule.subscribe,
    publish: rule.publish,
    history: rule.history,
    presence: rule.presence,
    joinLeave: rule.joinLeave,
    maxSubscribers: rule.maxSubscribers,
    locks: rule.locks !== undefined,
  };
}

/** A name test from the search pattern: `*` any run of characters, anything else literal. */
function nameTest(pattern: string | undefined): (name: string) => boolean {
  if (!pattern) return () => true;
  if (!pattern.includes('*')) return (name) => name.includes(pattern);
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'u');
  return (name) => regex.test(name);
}

/** `GET /api/v1/channels` and `GET /api/v1/channels/:channel`. */
export function channelInfoRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, channelSearchRoute, async (request, reply) => {
    const query = parseOr400(channelSearchQuery, request.query, reply);
    if (!query) return reply;
    const { rooms } = await clusterStats(node, tenantScope(request, query.tenant));
    const test = nameTest(query.pattern);
    const matched = rooms.rooms.filter((r) => test(r.channel));
    return {
      nodes: rooms.nodes,
      answered: rooms.answered,
      total: matched.length,
      channels: matched.slice(0, MAX_CHANNELS).map((r) => ({ ...r, rule: summary(node.policy.resolve(r.channel)) })),
    };
  });

  addRoute(app, node.config, channelInfoRoute, async (request, reply) => {
    const params = parseOr400(channelParams, request.params, reply);
    const query = params && parseOr400(tenantQuery, request.query, reply);
    if (!params || !query) return reply;
    const tenant = callerTenant(request, node.config, query.tenant);
    const resolved = node.policy.resolve(params.channel);
    try {
      const { answers, nodes } = await node.cluster.ask<{ subscribers: number }>({ kind: 'subscribers', tenant, channel: params.channel }, 1000);
      const rule = resolved?.rule;
      const presence = rule?.presence ? await node.listPresence(channelKey(tenant, params.channel)) : undefined;
      const history = rule && rule.history.size > 0 ? await node.channelHistory(tenant, undefined, params.channel, { limit: 1 }, resolved) : undefined;
      return {
        tenant,
        channel: params.channel,
        rule: summary(resolved),
        subscribers: answers.reduce((n, a) => n + a.answer.subscribers, 0),
        nodes,
        answered: answers.length,
        ...(presence ? { presence } : {}),
        ...(history ? { history: { epoch: history.epoch, offset: history.offset } } : {}),
      };
    } catch (err) {
      return sendFailure(err, reply, node.logger);
    }
  });
}
