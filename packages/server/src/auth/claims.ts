import { dataProblem } from '@herald/protocol';
import type { HeraldConfig } from '../config/schema.js';
import { AuthError, type Identity } from './identity.js';
import { TENANT_NAME } from '../core/tenant-name.js';


/** Reads a dotted path (`realm_access.roles`) from a claims object. */
const NO_INFO: Record<string, unknown> = Object.freeze({});

export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  let node: unknown = claims;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Shared by identities without roles or channels (most): one frozen array, not one per connection. */
const NONE: string[] = Object.freeze([]) as unknown as string[];

function stringList(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : NONE;
  return list.length > 0 ? list : NONE;
}

/** Maps verified JWT claims to an Identity as `auth.claims` and `tenants` configure. */
export function identityFromClaims(claims: Record<string, unknown>, config: HeraldConfig): Identity {
  const map = config.auth.claims;
  const rawUser = claimAt(claims, map.userId);
  if ((typeof rawUser !== 'string' && typeof rawUser !== 'number') || String(rawUser).length === 0) {
    throw new AuthError('invalid', `token has no user id claim (${map.userId})`);
  }
  const rawTenant = claimAt(claims, map.tenant);
  let tenant = config.tenants.default;
  if (rawTenant !== undefined && rawTenant !== null && rawTenant !== '') {
    if ((typeof rawTenant !== 'string' && typeof rawTenant !== 'number') || !TENANT_NAME.test(String(rawTenant))) {
      throw new AuthError('invalid', `token's tenant claim (${map.tenant}) is not a valid tenant name`);
    }
    tenant = String(rawTenant);
  } else if (config.tenants.requireClaim) {
    throw new AuthError('invalid', `token has no tenant claim (${map.tenant})`);
  }
  const info: Record<string, unknown> = {};
  for (const path of map.info) {
    const value = claimAt(claims, path);
    if (value === undefined) continue;
    // Info is stored and sent with presence and user events: it must be encodable like publication data.
    const problem = dataProblem(value, { maxDepth: config.limits.maxDataDepth, maxBytes: config.limits.maxDataBytes });
    if (problem) throw new AuthError('invalid', `token's ${path} claim is ${problem}`);
    info[path.split('.').pop()!] = value;
  }
  const exp = claims.exp;
  return {
    userId: String(rawUser),
    tenant,
    roles: stringList(claimAt(claims, map.roles)),
    // Most tokens carry no info: one shared empty object, not one per connection.
    info: Object.keys(info).length > 0 ? info : NO_INFO,
    channels: stringList(claimAt(claims, map.channels)),
    ...(typeof exp === 'number' ? { expiresAt: exp * 1000 } : {}),
  };
}
