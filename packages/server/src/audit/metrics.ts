import { Counter, Gauge, type Registry } from 'prom-client';

/** The audit feed's figures, on the node's `/metrics`. */
export function auditMetrics(registry: Registry) {
  return {
    readers: new Gauge({ name: 'herald_audit_readers', help: 'Audit feed readers on this node', registers: [registry] }),
    dropped: new Counter({
      name: 'herald_audit_dropped_total',
      help: 'Audit records never stored: queue_full (too many waiting on a slow engine) or unpublished (the engine refused them)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    slowReaders: new Counter({ name: 'herald_audit_slow_readers_total', help: 'Audit readers closed for reading too slowly (4006)', registers: [registry] }),
  };
}
export type AuditMetrics = ReturnType<typeof auditMetrics>;
