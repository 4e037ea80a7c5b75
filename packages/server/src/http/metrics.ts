import type { FastifyInstance } from 'fastify';
import type { Node } from '../core/node.js';
import type { Metrics } from '../observability/metrics.js';
import { addRoute, type RouteDoc } from './route-doc.js';

export const metricsRoute = {
  method: 'GET',
  url: '/metrics',
  operationId: 'metrics',
  tag: 'operations',
  summary: "The node's Prometheus metrics (`herald_connections`, `herald_publications_total`, ...)",
  auth: 'none',
  responses: { 200: { description: 'Prometheus text exposition format.', contentType: 'text/plain; version=0.0.4' } },
} satisfies RouteDoc;

/** `GET /metrics` for Prometheus. */
export function metricsRoutes(app: FastifyInstance, node: Node, metrics: Metrics): void {
  const registry = metrics.registry;
  addRoute(app, node.config, metricsRoute, async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}
