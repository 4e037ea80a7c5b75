import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Node } from '../core/node.js';
import { tenantScope } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { tenantQuery } from './schemas.js';
import { parseOr400 } from './validation.js';

const counts = z.record(z.string(), z.number().int());

const connectionStats = z.object({
  tenant: z.string().optional().meta({ description: 'Present when the numbers are of one tenant.' }),
  total: z.number().int(),
  users: z.number().int().meta({ description: 'Distinct users (per tenant).' }),
  byTransport: counts,
  byTenant: counts,
});

const roomStats = z.object({
  tenant: z.string().optional(),
  total: z.number().int(),
  rooms: z.array(z.object({ tenant: z.string(), channel: z.string(), subscribers: z.number().int() })).meta({ description: 'Busiest first.' }),
});

const statsDescription =
  'Numbers of the node that answers. Without a key when `api.publicStats` is on; a tenant-bound key sees only its tenant, and `tenant` narrows to one.';

export const connectionStatsRoute = {
  method: 'GET',
  url: '/api/v1/stats/connections',
  operationId: 'connectionStats',
  tag: 'stats',
  summary: 'Open connections by transport and tenant',
  description: statsDescription,
  auth: 'stats',
  query: tenantQuery,
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
  query: tenantQuery,
  responses: { 200: { description: 'Channels.', schema: roomStats }, ...errors(400, 401, 403) },
} satisfies RouteDoc;

/** Hub.connectionStats narrowed to one tenant. */
function tenantConnectionStats(node: Node, tenant: string) {
  const byTransport: Record<string, number> = {};
  const users = new Set<string>();
  let total = 0;
  for (const session of node.sessions.values()) {
    if (session.tenant !== tenant) continue;
    total += 1;
    byTransport[session.link.transport] = (byTransport[session.link.transport] ?? 0) + 1;
    users.add(session.identity.userId);
  }
  return { tenant, total, users: users.size, byTransport, byTenant: total > 0 ? { [tenant]: total } : {} };
}

/** `GET /api/v1/stats/connections` and `GET /api/v1/stats/rooms` (seed 001's monitoring). */
export function statsRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, connectionStatsRoute, async (request, reply) => {
    const query = parseOr400(tenantQuery, request.query, reply);
    if (!query) return reply;
    const tenant = tenantScope(request, query.tenant);
    return tenant === undefined ? node.connectionStats() : tenantConnectionStats(node, tenant);
  });

  addRoute(app, node.config, roomStatsRoute, async (request, reply) => {
    const query = parseOr400(tenantQuery, request.query, reply);
    if (!query) return reply;
    const tenant = tenantScope(request, query.tenant);
    return tenant === undefined ? node.roomStats() : { tenant, ...node.roomStats(tenant) };
  });
}
