import { z } from 'zod';
import { duration } from '../config/duration.js';
import { TENANT_NAME, TENANT_NAME_RULE } from '../core/tenant-name.js';

/**
 * The `audit:` section: the gateway's own events as a feed for admins (see docs/audit.md).
 * Off unless enabled; the dev defaults turn it on.
 */
export const auditConfig = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** The role a token must carry to read the feed. */
    adminRole: z.string().min(1).default('admin'),
    /** The tenant whose admins see every tenant's events; other admins see only their own tenant's. */
    operatorTenant: z.string().regex(TENANT_NAME, TENANT_NAME_RULE).optional(),
    /** The WebSocket endpoint; the Server-Sent Events twin is `GET /api/v1/audit/events`. */
    path: z.string().regex(/^\/[^?#]*$/, 'must start with / and have no query').default('/ws/audit'),
    /** How many records the cluster keeps, and how long, for a late joiner and for resume. */
    history: z
      .strictObject({ size: z.number().int().min(1).max(100_000).default(1000), ttl: duration.default(3_600_000) })
      .prefault({}),
    /** Readers at once on one node (503 past it). */
    maxReaders: z.number().int().min(1).default(100),
    /** A reader whose unsent data passes this is closed as a slow consumer (4006). */
    sendQueueBytes: z.number().int().min(1024).default(1_048_576),
    /** Records waiting on one node to be stored; past it new ones are dropped and counted. */
    maxQueuedRecords: z.number().int().min(100).default(10_000),
  })
  .prefault({});

export type AuditConfig = z.infer<typeof auditConfig>;
