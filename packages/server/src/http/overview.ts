import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { FiguresSnapshot } from '../core/figures.js';
import type { Node, NodeStats } from '../core/node.js';
import { tenantScope } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { tenantName } from './schemas.js';
import { parseOr400 } from './validation.js';

const counts = z.record(z.string(), z.number().int());

export const overviewQuery = z.strictObject({
  tenant: tenantName.optional(),
  scope: z.enum(['node', 'cluster']).default('cluster').meta({ description: '`cluster` (the default): every node, gathered through the engine. `node`: the answering node only.' }),
});

const nodeRow = z.object({
  id: z.string().meta({ description: "The node's id for this process's life." }),
  self: z.boolean().meta({ description: 'The node that answered this request.' }),
  engine: z.string(),
  accepting: z.boolean().meta({ description: 'False while the node drains (shutting down).' }),
  engineReady: z.boolean(),
  connections: z.number().int(),
  startedAt: z.number().int(),
  engineMs: z
    .number()
    .optional()
    .meta({ description: "With `scope: cluster`: milliseconds from the question going out to this node's answer, a round trip through the engine." }),
});

const figures = z
  .object({
    publications: z.number().int().meta({ description: 'Publications stored since the nodes started (one per channel).' }),
    deliveries: z.number().int().meta({ description: 'Publications handed to connections since the nodes started.' }),
    series: z
      .object({
        start: z.number().int().meta({ description: 'Unix second of the first count.' }),
        publications: z.array(z.number().int()),
        deliveries: z.array(z.number().int()),
      })
      .meta({ description: 'Per-second counts of the last 300 seconds, oldest first, summed over the nodes.' }),
    denials: counts.meta({ description: 'Refused connections and requests by reason (`slow_consumer`, `unauthorized`, ...).' }),
    closes: counts.meta({ description: 'Connections the server closed, by close code (`4006`: slow consumer, `4009`: disconnected by an operator).' }),
  })
  .meta({ description: 'Node-wide: absent for a caller limited to one tenant.' });

const overview = z.object({
  scope: z.enum(['node', 'cluster']),
  nodes: z.number().int().meta({ description: 'Nodes listening when the question went out (1 for `scope: node`).' }),
  answered: z.number().int().meta({ description: 'Nodes that answered within a second.' }),
  tenant: z.string().optional(),
  nodeList: z.array(nodeRow),
  connections: z.object({ total: z.number().int(), users: z.number().int(), byTransport: counts, byTenant: counts }),
  channels: z.number().int().meta({ description: 'Channels with subscribers.' }),
  figures: figures.optional(),
});

export const overviewRoute = {
  method: 'GET',
  url: '/api/v1/stats',
  operationId: 'overviewStats',
  tag: 'stats',
  summary: 'The cluster at a glance: nodes, connections, publications and deliveries per second, denials, closes, engine latency',
  description:
    'What the console\'s Overview shows. Cluster-wide by default. A tenant-bound caller sees its tenant\'s connections and channels and no node-wide figures. Without a key when `api.publicStats` is on.',
  auth: 'stats',
  query: overviewQuery,
  responses: { 200: { description: 'Figures.', schema: overview }, ...errors(400, 401, 403) },
} satisfies RouteDoc;

const addCounts = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
};

/** Per-second series of several nodes, aligned on the newest window. */
function sumFigures(all: FiguresSnapshot[]): z.infer<typeof figures> {
  const start = Math.max(...all.map((f) => f.series.start));
  const length = all[0].series.publications.length;
  const publications = new Array<number>(length).fill(0);
  const deliveries = new Array<number>(length).fill(0);
  const denials: Record<string, number> = {};
  const closes: Record<string, number> = {};
  for (const f of all) {
    const shift = start - f.series.start;
    for (let i = 0; i + shift < length; i++) {
      publications[i] += f.series.publications[i + shift];
      deliveries[i] += f.series.deliveries[i + shift];
    }
    addCounts(denials, f.denials);
    addCounts(closes, f.closes);
  }
  return {
    publications: all.reduce((n, f) => n + f.publications, 0),
    deliveries: all.reduce((n, f) => n + f.deliveries, 0),
    series: { start, publications, deliveries },
    denials,
    closes,
  };
}

/** `GET /api/v1/stats`. */
export function overviewRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, overviewRoute, async (request, reply) => {
    const query = parseOr400(overviewQuery, request.query, reply);
    if (!query) return reply;
    const tenant = tenantScope(request, query.tenant);
    const question = { kind: 'stats' as const, ...(tenant !== undefined ? { tenant } : {}) };
    const gathered =
      query.scope === 'cluster'
        ? await node.cluster.ask<NodeStats>(question, 1000)
        : { answers: [{ node: node.cluster.nodeId, answer: node.localStats(tenant), ms: undefined }], nodes: 1 };
    // A node of an older version answers without figures: it is left out rather than failing the request.
    const answers = gathered.answers.filter((a) => a.answer?.figures !== undefined).sort((a, b) => a.answer.figures.startedAt - b.answer.figures.startedAt);
    const byTransport: Record<string, number> = {};
    const byTenant: Record<string, number> = {};
    const users = new Set<string>();
    const channels = new Set<string>();
    let total = 0;
    for (const { answer } of answers) {
      total += answer.connections.total;
      addCounts(byTransport, answer.connections.byTransport);
      addCounts(byTenant, answer.connections.byTenant);
      for (const u of answer.userKeys) users.add(u);
      for (const r of answer.rooms) channels.add(`${r.tenant}\u0000${r.channel}`);
    }
    return {
      scope: query.scope,
      nodes: gathered.nodes,
      answered: answers.length,
      ...(tenant !== undefined ? { tenant } : {}),
      nodeList: answers.map(({ node: id, answer, ms }) => ({
        id,
        self: id === node.cluster.nodeId,
        engine: answer.engine,
        accepting: answer.accepting,
        engineReady: answer.engineReady,
        connections: answer.connections.total,
        startedAt: answer.figures.startedAt,
        ...(ms !== undefined ? { engineMs: Math.round(ms * 100) / 100 } : {}),
      })),
      connections: { total, users: users.size, byTransport, byTenant },
      channels: channels.size,
      ...(tenant === undefined && answers.length > 0 ? { figures: sumFigures(answers.map((a) => a.answer.figures)) } : {}),
    };
  });
}
