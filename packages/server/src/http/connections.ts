import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConnectionListing, LockListing, Node } from '../core/node.js';
import { tenantScope } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { tenantName } from './schemas.js';
import { parseOr400 } from './validation.js';

/** How long a cluster-wide list waits for the nodes' answers. */
const CLUSTER_TIMEOUT_MS = 1000;
/** Rows in one answer at most: the oldest first. */
const MAX_ROWS = 1000;

const clusterFields = {
  nodes: z.number().int().meta({ description: 'Nodes listening when the question went out.' }),
  answered: z.number().int().meta({ description: 'Nodes that answered within a second; a slower node\'s rows are missing.' }),
  truncated: z.boolean().meta({ description: `True when more than ${MAX_ROWS} rows matched and only the first ${MAX_ROWS} are listed.` }),
};

export const connectionsQuery = z.strictObject({
  tenant: tenantName.optional().meta({ description: "Only this tenant's. A tenant-bound caller sees only its own; without either, every tenant." }),
  userId: z.string().min(1).max(1024).optional().meta({ description: "Only this user's connections." }),
});

const connectionRow = z.object({
  connectionId: z.string(),
  node: z.string().meta({ description: 'The id of the node holding the connection.' }),
  tenant: z.string(),
  userId: z.string(),
  roles: z.array(z.string()),
  transport: z.string().meta({ description: '`websocket`, `socketio` or `sse`.' }),
  connectedAt: z.number().int(),
  channels: z.array(z.string()),
});

const lockRow = z.object({
  tenant: z.string(),
  channel: z.string(),
  name: z.string(),
  userId: z.string().meta({ description: 'The holder.' }),
  connectionId: z.string().meta({ description: "The holder's connection." }),
  node: z.string(),
  expiresAt: z.number().int().meta({ description: 'When the lock ends unless its holder refreshes it (ms since epoch).' }),
});

export const connectionListRoute = {
  method: 'GET',
  url: '/api/v1/connections',
  operationId: 'listConnections',
  tag: 'users',
  summary: 'Open connections on every node, with transport, node, tenant, roles and channels',
  auth: 'apiKey',
  query: connectionsQuery,
  responses: { 200: { description: 'Oldest first.', schema: z.object({ ...clusterFields, connections: z.array(connectionRow) }) }, ...errors(400, 401, 403) },
} satisfies RouteDoc;

export const lockListRoute = {
  method: 'GET',
  url: '/api/v1/locks',
  operationId: 'listLocks',
  tag: 'channels',
  summary: 'Soft locks held now on every node, with holder and expiry',
  auth: 'apiKey',
  query: z.strictObject({ tenant: connectionsQuery.shape.tenant }),
  responses: { 200: { description: 'Soonest to expire first.', schema: z.object({ ...clusterFields, locks: z.array(lockRow) }) }, ...errors(400, 401, 403) },
} satisfies RouteDoc;

/** Every node's rows for a question, each with its node, sorted and capped at MAX_ROWS. */
async function gather<T>(node: Node, question: Parameters<Node['cluster']['ask']>[0], order: (a: T, b: T) => number) {
  const { answers, nodes } = await node.cluster.ask<T[]>(question, CLUSTER_TIMEOUT_MS);
  // A node of an older version may not know the question: its answer is no list, and it adds no rows.
  const rows = answers.flatMap((a) => (Array.isArray(a.answer) ? a.answer.map((row) => ({ ...row, node: a.node })) : [])).sort(order);
  return { nodes, answered: answers.length, truncated: rows.length > MAX_ROWS, rows: rows.slice(0, MAX_ROWS) };
}

/** `GET /api/v1/connections` and `GET /api/v1/locks`: cluster-wide lists through core/cluster.ts. */
export function connectionRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, connectionListRoute, async (request, reply) => {
    const query = parseOr400(connectionsQuery, request.query, reply);
    if (!query) return reply;
    const tenant = tenantScope(request, query.tenant);
    const { rows, ...rest } = await gather<ConnectionListing>(
      node,
      { kind: 'connections', ...(tenant !== undefined ? { tenant } : {}), ...(query.userId !== undefined ? { userId: query.userId } : {}) },
      (a, b) => a.connectedAt - b.connectedAt || a.connectionId.localeCompare(b.connectionId),
    );
    return { ...rest, connections: rows };
  });

  addRoute(app, node.config, lockListRoute, async (request, reply) => {
    const query = parseOr400(lockListRoute.query, request.query, reply);
    if (!query) return reply;
    const tenant = tenantScope(request, query.tenant);
    const { rows, ...rest } = await gather<LockListing>(node, { kind: 'locks', ...(tenant !== undefined ? { tenant } : {}) }, (a, b) => a.expiresAt - b.expiresAt);
    return { ...rest, locks: rows };
  });
}
