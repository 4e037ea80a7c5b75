import { z } from 'zod';
import type { HeraldConfig } from '../config/schema.js';
import { errors, type RouteDoc } from '../http/route-doc.js';
import { AUDIT_TYPES } from './records.js';
import { AUDIT_SSE_PATH } from './sse.js';

/** `GET /api/v1/audit/events` as the OpenAPI document shows it (AuditSse reads its query itself). */
const auditEventsRoute = {
  method: 'GET',
  url: AUDIT_SSE_PATH,
  operationId: 'auditEvents',
  tag: 'streams',
  summary: 'The audit feed over Server-Sent Events (admins)',
  description:
    'The gateway\'s own events for a token with `audit.adminRole`: `subscribed` (the filter, the scope and the start position as `id`), then one `audit` event per record, `id` its position. Resumes after `Last-Event-ID`. See docs/audit.md.',
  auth: 'clientToken',
  query: z.strictObject({
    types: z.string().optional().meta({ description: `Record types, comma-separated: ${AUDIT_TYPES.join(', ')}.` }),
    tenant: z.string().optional().meta({ description: 'Only this tenant (an operator admin); a tenant admin may name only its own.' }),
    user: z.string().optional().meta({ description: 'Only records of this user id.' }),
    channel: z.string().optional().meta({ description: 'Only records on channels matching this pattern (`order:*`).' }),
    token: z.string().optional().meta({ description: 'The client JWT, for clients that cannot set `Authorization` (EventSource).' }),
    lastEventId: z.string().optional().meta({ description: 'Resume position, for clients that cannot send the `Last-Event-ID` header.' }),
  }),
  headers: z.object({ 'Last-Event-ID': z.string().optional().meta({ description: 'The `id` of the last event received.' }) }),
  responses: {
    200: { description: 'An event stream of audit records.', contentType: 'text/event-stream' },
    ...errors(400, 401, 403, 503),
  },
} satisfies RouteDoc;

/** The audit feed's HTTP route, when the feed is enabled. */
export function auditRouteDocs(config: HeraldConfig): RouteDoc[] {
  return config.audit.enabled ? [auditEventsRoute] : [];
}
