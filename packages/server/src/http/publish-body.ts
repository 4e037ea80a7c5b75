import { channelNameProblem, MAX_EVENT_LENGTH } from '@herald/protocol';
import { TENANT_NAME } from '../core/tenant-name.js';

/** The common publish: one channel, an event, data, optionally a tenant, a key for retries, a token. */
export interface SimplePublishBody {
  channel: string;
  event: string;
  data?: unknown;
  tenant?: string;
  idempotencyKey?: string;
  token?: string;
  /** Never set: a body with `channels` or `audience` is left to the schema. */
  channels?: undefined;
  audience?: undefined;
}

const SIMPLE_KEYS = new Set(['channel', 'event', 'data', 'tenant', 'idempotencyKey', 'token']);
/** Longest `idempotencyKey`: the schema (publish.ts) and the quick check share it. */
export const MAX_IDEMPOTENCY_KEY = 256;

const optionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/**
 * The body itself when it is a publish to one channel that the zod schema (publish.ts's
 * `publishBody`, or `batchItem` without `token`) would accept as it is; otherwise undefined, and
 * the caller parses it with that schema, which gives the error. A zod parse of the whole schema
 * was a measurable share of a publish request; this check accepts a subset of what the schema
 * accepts and nothing more (publish-body.test.ts holds the two side by side), so every error
 * reply still comes from zod, word for word.
 */
export function simplePublishBody(body: unknown, allowToken: boolean): SimplePublishBody | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.getPrototypeOf(body) !== Object.prototype) return undefined;
  const b = body as Record<string, unknown>;
  for (const key in b) {
    if (!Object.hasOwn(b, key) || !SIMPLE_KEYS.has(key)) return undefined;
  }
  const { channel, event, tenant, idempotencyKey, token } = b;
  if (typeof channel !== 'string' || channelNameProblem(channel) !== undefined) return undefined;
  if (typeof event !== 'string' || event.length === 0 || event.length > MAX_EVENT_LENGTH) return undefined;
  if (tenant !== undefined && (typeof tenant !== 'string' || !TENANT_NAME.test(tenant))) return undefined;
  if (!optionalString(idempotencyKey) || (typeof idempotencyKey === 'string' && (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY))) return undefined;
  if (token !== undefined && (!allowToken || !optionalString(token))) return undefined;
  return b as unknown as SimplePublishBody;
}
