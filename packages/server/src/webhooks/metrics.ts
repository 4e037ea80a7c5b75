import { Counter, Gauge, type Registry } from 'prom-client';
import type { ProxyOutcome } from './publish-proxy.js';
import type { WebhookCounters, Webhooks } from './webhooks.js';

/**
 * `herald_webhooks_*` on the node's registry: deliveries sent, retried, failed and dropped per
 * endpoint, each endpoint's queue depth, and the publish proxy's outcomes.
 */
export function createWebhookMetrics(registry: Registry) {
  const byEndpoint = (name: string, help: string) => new Counter({ name, help, labelNames: ['endpoint'], registers: [registry] });
  const sent = byEndpoint('herald_webhooks_sent_total', 'Webhook events delivered (a 2xx answer)');
  const retries = byEndpoint('herald_webhooks_retries_total', 'Webhook attempts that failed and were retried');
  const failed = byEndpoint('herald_webhooks_failed_total', 'Webhook events given up on after their retries');
  const dropped = byEndpoint('herald_webhooks_dropped_total', 'Webhook events dropped because the endpoint queue was full');
  const proxy = new Counter({ name: 'herald_webhooks_publish_checks_total', help: 'Client publications checked by a publish proxy, by outcome', labelNames: ['outcome'], registers: [registry] });
  let source: Webhooks | undefined;
  new Gauge({
    name: 'herald_webhooks_queued',
    help: 'Webhook events held per endpoint (waiting, retrying or in flight)',
    labelNames: ['endpoint'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of source?.stats().endpoints ?? []) this.set({ endpoint: e.name }, e.queued);
    },
  });
  const counters: WebhookCounters = {
    sent: (endpoint) => sent.inc({ endpoint }),
    retried: (endpoint) => retries.inc({ endpoint }),
    failed: (endpoint) => failed.inc({ endpoint }),
    dropped: (endpoint) => dropped.inc({ endpoint }),
  };
  return {
    counters,
    proxyOutcome: (outcome: ProxyOutcome) => proxy.inc({ outcome }),
    /** The webhooks whose queues the gauge reads. */
    watch(webhooks: Webhooks) {
      source = webhooks;
    },
  };
}
