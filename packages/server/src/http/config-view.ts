import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HeraldConfig } from '../config/schema.js';
import { forbidden } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';

export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they appear, in today's sections and those added later. */
const SECRET_KEY = /secret|password|token|^key$|privatekey|credentials/i;

/**
 * The configuration with every secret replaced by `[redacted]`: values under secret-looking keys,
 * and the user and password of URLs (`redis://user:pass@host`).
 */
export function redactConfig(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && value !== undefined && value !== null && typeof value !== 'boolean') return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactConfig(v));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, k)]));
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*@/i.test(value)) return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, `$1${REDACTED}@`);
  return value;
}

export const configRoute = {
  method: 'GET',
  url: '/api/v1/config',
  operationId: 'loadedConfig',
  tag: 'operations',
  summary: 'The configuration this node runs with, secrets redacted',
  description: `Every section with its defaults filled in. Secrets (keys, passwords, JWT secret, credentials in URLs) read \`${REDACTED}\`. 403 for a caller limited to one tenant: the configuration is the whole gateway's.`,
  auth: 'apiKey',
  responses: { 200: { description: 'The loaded configuration.', schema: z.record(z.string(), z.unknown()) }, ...errors(401, 403) },
} satisfies RouteDoc;

/** `GET /api/v1/config`. */
export function configRoutes(app: FastifyInstance, node: Node): void {
  const redacted = redactConfig(node.config) as Partial<HeraldConfig>;
  addRoute(app, node.config, configRoute, async (request) => {
    if (request.apiCaller?.tenant !== undefined) throw forbidden(`the configuration is the whole gateway's; this caller sees only tenant ${request.apiCaller.tenant}`);
    return redacted;
  });
}
