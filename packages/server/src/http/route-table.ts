import type { FastifyInstance } from 'fastify';

export interface ServedRoute {
  method: string;
  url: string;
}

const tables = new WeakMap<FastifyInstance, ServedRoute[]>();

/**
 * Records every route registered on the app from now on, including those added later by other
 * modules, so that the OpenAPI document can be checked against what is really served.
 */
export function trackRoutes(app: FastifyInstance): void {
  const table: ServedRoute[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) table.push({ method, url: route.url });
  });
}

/** The routes registered since `trackRoutes`, HEAD routes that fastify adds for GET included. */
export function servedRoutes(app: FastifyInstance): ServedRoute[] {
  return [...(tables.get(app) ?? [])];
}
