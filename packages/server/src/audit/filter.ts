import { MAX_CHANNEL_LENGTH } from '@herald/protocol';
import { describeIssue } from '@herald/protocol/schema';
import { z } from 'zod';
import { compilePattern } from '../core/channel-policy.js';
import { badRequest } from '../core/errors.js';
import { TENANT_NAME, TENANT_NAME_RULE } from '../core/tenant-name.js';
import { AUDIT_TYPES, type AuditRecord } from './records.js';

/** What a reader asks to see; every field given must match (absent ones do not narrow). */
export const auditFilter = z.strictObject({
  types: z
    .array(z.enum(AUDIT_TYPES, { error: `types are ${AUDIT_TYPES.join(', ')}` }))
    .min(1)
    .refine((types) => new Set(types).size === types.length, 'a type is listed twice')
    .optional(),
  tenant: z.string().regex(TENANT_NAME, TENANT_NAME_RULE).optional(),
  user: z.string().min(1).max(256).optional(),
  /** A channel pattern as channel rules write them: `order:*`, `city:{name}`, `operators`. */
  channel: z.string().min(1).max(MAX_CHANNEL_LENGTH).optional(),
});
export type AuditFilter = z.infer<typeof auditFilter>;

const FILTER_PARAMS = ['types', 'tenant', 'user', 'channel'] as const;

/** Throws 400 naming the first bad field. */
export function parseFilter(value: unknown): AuditFilter {
  const parsed = auditFilter.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const { field, message } = describeIssue(parsed.error);
  throw badRequest(message, field);
}

/**
 * A filter from a URL: `?types=connect,denial&tenant=acme&user=ann&channel=order:*`. Any other
 * parameter than these and `allowed` is refused, so that a misspelt filter is not silently ignored.
 */
export function filterFromQuery(params: URLSearchParams, allowed: readonly string[]): AuditFilter {
  const raw: Record<string, unknown> = {};
  for (const name of new Set(params.keys())) {
    if (params.getAll(name).length > 1) throw badRequest(`${name}: given more than once`, name);
    if ((FILTER_PARAMS as readonly string[]).includes(name)) raw[name] = params.get(name);
    else if (!allowed.includes(name)) throw badRequest(`unknown parameter ${JSON.stringify(name.slice(0, 64))}: filters are ${FILTER_PARAMS.join(', ')}`, name);
  }
  if (typeof raw.types === 'string') raw.types = raw.types.split(',');
  return parseFilter(raw);
}

/**
 * Whether a record is for a reader: inside its scope (its tenant, or every tenant for an
 * operator, `scope` undefined) and matching its filter.
 */
export class AuditMatcher {
  private readonly types: ReadonlySet<string> | undefined;
  private readonly channel: RegExp | undefined;

  constructor(readonly filter: AuditFilter, readonly scope: string | undefined) {
    this.types = filter.types ? new Set(filter.types) : undefined;
    this.channel = filter.channel !== undefined ? compilePattern(filter.channel).regex : undefined;
  }

  matches(record: AuditRecord): boolean {
    if (this.scope !== undefined && record.tenant !== this.scope) return false;
    if (this.types && !this.types.has(record.type)) return false;
    if (this.filter.tenant !== undefined && record.tenant !== this.filter.tenant) return false;
    if (this.filter.user !== undefined && record.userId !== this.filter.user) return false;
    if (this.channel) {
      const channels = record.channels ?? (record.channel !== undefined ? [record.channel] : []);
      if (!channels.some((c) => this.channel!.test(c))) return false;
    }
    return true;
  }
}
