import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Node } from '../core/node.js';
import { addRoute, type RouteDoc } from './route-doc.js';

const healthResult = z.object({
  status: z.literal('ok'),
  engine: z.string().meta({ description: 'Engine name: `memory` or `redis`.' }),
  connections: z.number().int().meta({ description: 'Open connections on this node.' }),
  uptime: z.number().int().meta({ description: 'Seconds since the process started.' }),
});

const readyResult = z.object({
  status: z.enum(['ready', 'not ready']),
  engine: z.enum(['ok', 'unavailable']),
  accepting: z.boolean().meta({ description: 'False once the node is shutting down.' }),
});

export const healthRoute = {
  method: 'GET',
  url: '/health',
  operationId: 'health',
  tag: 'operations',
  summary: 'Liveness: the process is up',
  auth: 'none',
  responses: { 200: { description: 'Up.', schema: healthResult } },
} satisfies RouteDoc;

export const readyRoute = {
  method: 'GET',
  url: '/ready',
  operationId: 'ready',
  tag: 'operations',
  summary: 'Readiness: the engine is connected and the node is not draining',
  auth: 'none',
  responses: { 200: { description: 'Ready.', schema: readyResult }, 503: { description: 'Not ready: take the node out of the load balancer.', schema: readyResult } },
} satisfies RouteDoc;

/** `GET /health` (the process is up) and `GET /ready` (it can serve: engine connected, not draining). */
export function healthRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, healthRoute, async () => ({ status: 'ok', engine: node.engineName, connections: node.sessions.size, uptime: Math.round(process.uptime()) }));
  addRoute(app, node.config, readyRoute, async (_request, reply) => {
    const engine = node.engineReady();
    const ready = engine && node.accepting;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', engine: engine ? 'ok' : 'unavailable', accepting: node.accepting });
  });
}
