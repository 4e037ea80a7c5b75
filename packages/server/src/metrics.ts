import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one node, served at `/metrics`. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'herald_' });
  const m = {
    registry,
    connections: new Gauge({ name: 'herald_connections', help: 'Open client connections', labelNames: ['transport'], registers: [registry] }),
    connectsTotal: new Counter({ name: 'herald_connects_total', help: 'Accepted connections', labelNames: ['transport'], registers: [registry] }),
    denialsTotal: new Counter({ name: 'herald_denials_total', help: 'Refused connections and requests', labelNames: ['reason'], registers: [registry] }),
    disconnectsTotal: new Counter({ name: 'herald_disconnects_total', help: 'Closed connections by close code', labelNames: ['code'], registers: [registry] }),
    publicationsTotal: new Counter({ name: 'herald_publications_total', help: 'Publications accepted (per channel)', labelNames: ['source'], registers: [registry] }),
    deliveriesTotal: new Counter({ name: 'herald_deliveries_total', help: 'Publications handed to connections', registers: [registry] }),
    channels: new Gauge({ name: 'herald_channels', help: 'Channels with local subscribers', registers: [registry] }),
  };
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
