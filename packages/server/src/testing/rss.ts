import type { Node } from '../core/node.js';

/**
 * Publishes `count` copies of `data` to a channel through the node, as the HTTP API does after
 * validation (so that request parsing garbage does not blur the measure), and samples this
 * process's RSS meanwhile. Resolves with how far RSS rose above where it started, and how
 * many bytes were published: a server that held what a stalled reader does not read would
 * grow by nearly all of it.
 */
export async function publishMeasuringRss(node: Node, channel: string, data: string, count: number, tenant = 'default'): Promise<{ growth: number; published: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  for (let i = 0; i < count; i++) {
    await node.publish(tenant, { channels: [channel], event: 'chunk', data }, 'api');
    if (i % 10 === 0) {
      await new Promise((resolve) => setImmediate(resolve));
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  return { growth: peak - before, published: count * data.length };
}
