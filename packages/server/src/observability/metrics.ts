import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { LifecycleBus } from '../core/events.js';

/** Prometheus metrics of one node, served at `/metrics`, kept from the node's lifecycle events. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'herald_' });
  return {
    registry,
    connections: new Gauge({ name: 'herald_connections', help: 'Open client connections', labelNames: ['transport'], registers: [registry] }),
    connectsTotal: new Counter({ name: 'herald_connects_total', help: 'Accepted connections', labelNames: ['transport'], registers: [registry] }),
    denialsTotal: new Counter({ name: 'herald_denials_total', help: 'Refused connections and requests', labelNames: ['reason'], registers: [registry] }),
    disconnectsTotal: new Counter({ name: 'herald_disconnects_total', help: 'Closed connections by close code', labelNames: ['code'], registers: [registry] }),
    publicationsTotal: new Counter({ name: 'herald_publications_total', help: 'Publications accepted (per channel)', labelNames: ['source'], registers: [registry] }),
    deliveriesTotal: new Counter({ name: 'herald_deliveries_total', help: 'Publications handed to connections', registers: [registry] }),
    channels: new Gauge({ name: 'herald_channels', help: 'Channels with local subscribers', registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Keeps the metrics from the bus: the only place a counter moves. */
export function countLifecycle(bus: LifecycleBus, metrics: Metrics): void {
  bus.on('connect', (e) => {
    metrics.connections.inc({ transport: e.transport });
    metrics.connectsTotal.inc({ transport: e.transport });
  });
  bus.on('disconnect', (e) => {
    metrics.connections.dec({ transport: e.transport });
    metrics.disconnectsTotal.inc({ code: String(e.code) });
  });
  bus.on('denial', (e) => metrics.denialsTotal.inc({ reason: e.reason }));
  bus.on('publish', (e) => {
    if (!e.duplicate) metrics.publicationsTotal.inc({ source: e.source }, e.channels.length);
  });
  bus.on('delivery', (e) => metrics.deliveriesTotal.inc(e.delivered));
  bus.on('channels', (e) => metrics.channels.set(e.count));
}
