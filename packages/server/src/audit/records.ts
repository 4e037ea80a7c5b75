import type { LifecycleBus } from '../core/events.js';

/** The kinds of audit record, as `types` filters name them. */
export const AUDIT_TYPES = ['connect', 'disconnect', 'denial', 'publish', 'eviction', 'lock', 'stream', 'webhook'] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];

/**
 * One thing the gateway did, as admins read it: the lifecycle event's own fields, its type, the
 * node it happened on and when. Records without a `tenant` (a refused token, a webhook) are only
 * for admins of the operator tenant.
 */
export interface AuditRecord {
  type: AuditType;
  node: string;
  at: number;
  tenant?: string;
  userId?: string;
  channel?: string;
  channels?: string[];
  [field: string]: unknown;
}

/** Lock refreshes happen every third of a lock's TTL for as long as it is held: noise, not audit. */
const LOCK_ACTIONS = new Set(['acquired', 'released']);
/** A stream's ordinary life (opened, completed) is the backend's; a viewer's cancel and an idle failure are audited. */
const STREAM_ACTIONS = new Set(['cancelled', 'failed']);

/**
 * Turns the bus's events into audit records for `record`. Returns a function that stops listening.
 * The feed's own publications are stored without a `publish` event (see Node.publishReserved), so
 * they never describe themselves.
 */
export function listenForRecords(bus: LifecycleBus, node: string, record: (r: AuditRecord) => void): () => void {
  const at = () => Date.now();
  const stops = [
    bus.on('connect', (e) => record({ type: 'connect', node, at: at(), ...e })),
    bus.on('disconnect', (e) => record({ type: 'disconnect', node, at: at(), ...e })),
    bus.on('denial', (e) => record({ type: 'denial', node, at: at(), ...e })),
    bus.on('publish', ({ data: _data, publisher, ...e }) => {
      // user:online / user:offline on the tenant channel: the connect and disconnect records say it already.
      // The payload stays out of the feed: a publish record says who, where and what, not the data.
      if (!e.channels.every((c) => c.startsWith('$'))) record({ type: 'publish', node, at: at(), ...e, ...(publisher ? { userId: publisher.userId } : {}) });
    }),
    bus.on('eviction', (e) => record({ type: 'eviction', node, at: at(), ...e })),
    bus.on('lock', (e) => {
      if (LOCK_ACTIONS.has(e.action)) record({ type: 'lock', node, at: at(), ...e });
    }),
    bus.on('stream', (e) => {
      if (STREAM_ACTIONS.has(e.action)) record({ type: 'stream', node, at: at(), ...e });
    }),
    // The webhook's own `type` (what it was about) would take the record's place.
    bus.on('webhook', ({ type: webhookType, ...e }) => record({ type: 'webhook', node, at: at(), ...e, webhookType })),
  ];
  return () => stops.forEach((stop) => stop());
}
