import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Node, NodeStats } from '../core/node.js';
import { tenantScope } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { tenantName } from './schemas.js';
import { parseOr400 } from './validation.js';

const counts = z.record(z.string(), z.number().int());

const statsQuery = z.strictObject({
  tenant: tenantName.optional(),
  scope: z
    .enum(['node', 'cluster'])
    .default('node')
    .meta({ description: '`node` (the default): the numbers of the node that answers. `cluster`: every node\'s, gathered through the engine; users on several nodes count once.' }),
});

/** How far the numbers reach, and for `cluster` how many nodes answered. */
const scopeFields = {
  scope: z.enum(['node', 'cluster']),
  nodes: z.number().int().optional().meta({ description: 'With `scope: cluster`: the nodes listening when the question went out.' }),
  answered: z.number().int().optional().meta({ description: 'With `scope: cluster`: the nodes that answered within a second.' }),
};

const connectionStats = z.object({
  ...scopeFields,
  tenant: z.string().optional().meta({ description: 'Present when the numbers are of one tenant.' }),
  total: z.number().int(),
  users: z.number().int().meta({ description: 'Distinct users (per tenant).' }),
  byTransport: counts,
  byTenant: counts,
});

const roomStats = z.object({
  ...scopeFields,
  tenant: z.string().optional(),
  total: z.number().int(),
  rooms: z.array(z.object({ tenant: z.string(), channel: z.string(), subscribers: z.number().int() })).meta({ description: 'Busiest first.' }),
});

const statsDescription =
  'The numbers of the node that answers, or with `scope=cluster` of every node. Without a key when `api.publicStats` is on; a tenant-bound key sees only its tenant, and `tenant` narrows to one.';

export const connectionStatsRoute = {
  method: 'GET',
  url: '/api/v1/stats/connections',
  operationId: 'connectionStats',
  tag: 'stats',
  summary: 'Open connections by transport and tenant',
  description: statsDescription,
  auth: 'stats',
  query: statsQuery,
  responses: { 200: { description: 'Connection counts.', schema: connectionStats }, ...errors(400, 401, 403) },
} satisfies RouteDoc;

export const roomStatsRoute = {
  method: 'GET',
  url: '/api/v1/stats/rooms',
  operationId: 'roomStats',
  tag: 'stats',
  summary: 'Channels with subscribers and their counts',
  description: statsDescription,
  auth: 'stats',
  query: statsQuery,
  responses: { 200: { description: 'Channels.', schema: roomStats }, ...errors(400, 401, 403) },
} satisfies RouteDoc;

/** How long a cluster-wide question waits for the nodes' answers. */
const CLUSTER_TIMEOUT_MS = 1000;

/** Every node's stats, summed: users by their keys, rooms by tenant and channel. */
export async function clusterStats(node: Node, tenant: string | undefined) {
  const { answers, nodes } = await node.cluster.ask<NodeStats>({ kind: 'stats', ...(tenant !== undefined ? { tenant } : {}) }, CLUSTER_TIMEOUT_MS);
  const byTransport: Record<string, number> = {};
  const byTenant: Record<string, number> = {};
  const users = new Set<string>();
  const rooms = new Map<string, { tenant: string; channel: string; subscribers: number }>();
  let total = 0;
  for (const { answer } of answers) {
    total += answer.connections.total;
    for (const [k, n] of Object.entries(answer.connections.byTransport)) byTransport[k] = (byTransport[k] ?? 0) + n;
    for (const [k, n] of Object.entries(answer.connections.byTenant)) byTenant[k] = (byTenant[k] ?? 0) + n;
    for (const user of answer.userKeys) users.add(user);
    for (const room of answer.rooms) {
      const key = `${room.tenant}\u0000${room.channel}`;
      const seen = rooms.get(key);
      if (seen) seen.subscribers += room.subscribers;
      else rooms.set(key, { ...room });
    }
  }
  const roomList = [...rooms.values()].sort((a, b) => b.subscribers - a.subscribers || a.channel.localeCompare(b.channel));
  const scope = { scope: 'cluster' as const, nodes, answered: answers.length };
  return {
    connections: { ...scope, ...(tenant !== undefined ? { tenant } : {}), total, users: users.size, byTransport, byTenant },
    rooms: { ...scope, ...(tenant !== undefined ? { tenant } : {}), total: roomList.length, rooms: roomList },
  };
}

/** `GET /api/v1/stats/connections` and `GET /api/v1/stats/rooms` (seed 001's monitoring). */
export function statsRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, connectionStatsRoute, async (request, reply) => {
    const query = parseOr400(statsQuery, request.query, reply);
    if (!query) return reply;
    const tenant = tenantScope(request, query.tenant);
    if (query.scope === 'cluster') return (await clusterStats(node, tenant)).connections;
    return { scope: 'node', ...(tenant !== undefined ? { tenant } : {}), ...node.connectionStats(tenant) };
  });

  addRoute(app, node.config, roomStatsRoute, async (request, reply) => {
    const query = parseOr400(statsQuery, request.query, reply);
    if (!query) return reply;
    const tenant = tenantScope(request, query.tenant);
    if (query.scope === 'cluster') return (await clusterStats(node, tenant)).rooms;
    return { scope: 'node', ...(tenant !== undefined ? { tenant } : {}), ...node.roomStats(tenant) };
  });
}
