import type { Registry } from 'prom-client';
import type { Node } from '../core/node.js';
import { pusherWebhookEndpoints } from '../pusher/webhook-format.js';
import type { WebhooksConfig } from './config.js';
import { createWebhookMetrics } from './metrics.js';
import { PublishProxy, type ProxyStats } from './publish-proxy.js';
import { Webhooks, type EndpointStats, type WebhookFailure } from './webhooks.js';

/** A node's webhooks and publish proxies, with their figures. */
export interface WebhookService {
  stats(): { endpoints: EndpointStats[]; queue: WebhooksConfig['queue']; recentFailures: WebhookFailure[]; publishProxies: ProxyStats[] };
  /** Waits until every endpoint's queue is empty, or `deadline` resolves. */
  drain(deadline: Promise<unknown>): Promise<void>;
  close(): void;
}

/**
 * Starts what `webhooks:` configures on a node: the endpoints and the Pusher apps' webhooks (listening on its lifecycle bus)
 * and the publish proxies (as the node's publish guard), counted on the metrics registry.
 *
 * @example
 * const webhooks = startWebhooks(node, metrics.registry);
 * await webhooks.drain(sleep(2000)); webhooks.close();
 */
export function startWebhooks(node: Node, registry: Registry): WebhookService {
  const config = node.config.webhooks;
  const metrics = createWebhookMetrics(registry);
  const webhooks = new Webhooks(node.events, node.logger, config, metrics.counters, pusherWebhookEndpoints(node.config.pusher));
  metrics.watch(webhooks);
  const proxy = config.publishProxies.length > 0 ? new PublishProxy(config.publishProxies, config.secret, node.logger, (d) => node.dataProblem(d), metrics.proxyOutcome) : undefined;
  if (proxy) node.guardClientPublishes(proxy);
  return {
    stats: () => ({ ...webhooks.stats(), publishProxies: proxy?.stats() ?? [] }),
    drain: (deadline) => webhooks.drain(deadline),
    close: () => {
      webhooks.close();
      if (proxy) node.guardClientPublishes(undefined);
    },
  };
}
