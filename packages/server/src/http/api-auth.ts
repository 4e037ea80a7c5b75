import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode } from '@herald/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HeraldConfig } from '../config/schema.js';
import { badRequest, forbidden } from '../core/errors.js';

/** Who called the HTTP API: the key's name and the tenant it is limited to, if any. */
export interface ApiCaller {
  name: string;
  tenant?: string;
}

/** The caller of a request that carries no key but a session (the console's), or undefined. */
export type SessionCaller = (request: FastifyRequest) => Promise<ApiCaller | undefined>;

declare module 'fastify' {
  interface FastifyRequest {
    apiCaller?: ApiCaller;
  }
  interface FastifyInstance {
    /** Set by createHttpApp when the console is on: its session stands for a key, scoped to the signed-in user's tenant. */
    sessionCaller?: SessionCaller;
  }
}

// Keys are compared as SHA-256 digests: equal lengths for timingSafeEqual, and no early exit on the first differing byte.
const digest = (value: string) => createHash('sha256').update(value).digest();

/** The key from `Authorization: Bearer` or, as seed 001's services send it, the body's `token`. */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const body = request.body as { token?: unknown } | undefined;
  return body && typeof body === 'object' && typeof body.token === 'string' ? body.token : undefined;
}

/**
 * A preHandler that admits requests carrying a configured API key, compared in constant time.
 * Sets `request.apiCaller`; answers 401 otherwise. Without a key, a console session (see
 * `FastifyInstance.sessionCaller`) stands for one. With `optional`, a request without a key is
 * admitted as anonymous, but a key that is presented must still be valid (it may narrow what the
 * caller sees to its tenant). Callback-style, so that a request with a key waits for no promise.
 *
 * @example
 * app.post('/api/v1/publish', { preHandler: apiKeyGuard(config) }, handler);
 */
export function apiKeyGuard(config: HeraldConfig, options: { optional?: boolean } = {}) {
  const keys = config.api.keys.map((k, i) => ({ digest: digest(k.key), caller: { name: k.name ?? `key${i}`, ...(k.tenant ? { tenant: k.tenant } : {}) } }));
  // The digest of a key that matched, by the presented string: a publisher sends the same key on
  // every request, and hashing it each time was a measurable share of a publish. Only keys that
  // matched are kept, so the map is bounded by the configuration, not by what callers send; every
  // configured digest is still compared in constant time.
  const digests = new Map<string, Buffer>();
  const digestOf = (presented: string): Buffer => digests.get(presented) ?? digest(presented);
  const unauthorized = (reply: FastifyReply, presented: string | undefined) =>
    reply.code(401).send({ error: { code: ErrorCode.Unauthorized, message: presented ? 'invalid API key' : 'missing API key (Authorization: Bearer <key>)' } });
  return function requireApiKey(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    const presented = presentedKey(request);
    if (presented) {
      const d = digestOf(presented);
      let match: ApiCaller | undefined;
      for (const key of keys) if (timingSafeEqual(key.digest, d)) match = key.caller;
      if (!match) return void unauthorized(reply, presented);
      digests.set(presented, d);
      request.apiCaller = match;
      return done();
    }
    const sessionCaller = request.server.sessionCaller;
    if (!sessionCaller) return options.optional ? done() : void unauthorized(reply, presented);
    sessionCaller(request).then(
      (session) => {
        if (session) request.apiCaller = session;
        if (session || options.optional) done();
        else void unauthorized(reply, presented);
      },
      (err: Error) => done(err),
    );
  };
}

/**
 * The tenant a caller narrowed a request to: the asked one, or the key's own. Undefined means
 * every tenant (a key without a tenant that asked for none). Throws 403 when a tenant-bound key
 * asks for another tenant.
 */
export function tenantScope(request: FastifyRequest, asked: string | undefined): string | undefined {
  const own = request.apiCaller?.tenant;
  if (own && asked !== undefined && asked !== own) throw forbidden(`this API key is limited to tenant ${own}`);
  return asked ?? own;
}

/**
 * The tenant an API call acts on: the key's own, the body's or query's `tenant`, or the default.
 * Throws 403 when a tenant-bound key names another, and 400 when none is named while
 * `tenants.requireClaim` is set: no client can be in the default tenant then, so a call landing
 * there would be a backend bug that goes unseen.
 */
export function callerTenant(request: FastifyRequest, config: HeraldConfig, asked: string | undefined): string {
  const tenant = tenantScope(request, asked);
  if (tenant !== undefined) return tenant;
  if (config.tenants.requireClaim) throw badRequest('tenant is required: this gateway sets tenants.requireClaim, so every call names its tenant', 'tenant');
  return config.tenants.default;
}
