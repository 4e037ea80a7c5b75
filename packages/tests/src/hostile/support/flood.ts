import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { HeraldFixture } from '@herald/server/testing';

// The publisher runs in this process too, and every 128 KB publication leaves garbage that V8
// collects late: measured as it is, RSS would show the test's garbage, not what the server holds.
// A collection between batches makes the RSS growth mean what the server keeps.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const PUBLICATION_BYTES = 128 * 1024;
const BATCH = 4;
const COLLECT_EVERY = 32;

export interface FloodResult {
  /** Publications sent, each of ~128 KB. */
  published: number;
  /** How many had been sent when `cut` first held; undefined if it never did. */
  cutAfter: number | undefined;
  /** RSS growth over the flood, after a final collection, in MiB. */
  rssGrowthMiB: number;
  /** Growth of memory outside V8's heap (Buffers: where a send queue lives), in MiB; steadier than RSS. */
  externalGrowthMiB: number;
}

const slowConsumerDenials = async (herald: HeraldFixture) =>
  (await herald.server.metrics.denialsTotal.get()).values.find((v) => v.labels.reason === 'slow_consumer')?.value ?? 0;

/**
 * Publishes publications of ~128 KB to `channel` through the HTTP API, a few at a time: `max`
 * of them, or once the reader is cut, `min` (and 64 more than at the cut), which is enough to see
 * that nothing piles up after it. `onCut` runs once, as soon as the server reports a slow
 * consumer cut (its `slow_consumer` denial), so the test can read what the server sent before
 * it gives up on the socket.
 */
export async function flood(herald: HeraldFixture, channel: string, { min, max }: { min: number; max: number }, onCut: () => void): Promise<FloodResult> {
  const body = { channel, event: 'chunk', data: 'x'.repeat(PUBLICATION_BYTES) };
  // A warm-up on a channel nobody reads: the baseline then includes what publishing itself needs.
  for (let i = 0; i < COLLECT_EVERY; i += BATCH) await Promise.all(Array.from({ length: BATCH }, () => herald.api('POST', '/api/v1/publish', { ...body, channel: 'warm-up' })));
  collectGarbage();
  const before = process.memoryUsage();
  let published = 0;
  let cutAfter: number | undefined;
  while (published < (cutAfter === undefined ? max : Math.min(max, Math.max(min, cutAfter + 64)))) {
    await Promise.all(Array.from({ length: BATCH }, () => herald.api('POST', '/api/v1/publish', body)));
    published += BATCH;
    if (published % COLLECT_EVERY === 0) collectGarbage();
    if (cutAfter === undefined && (await slowConsumerDenials(herald)) > 0) {
      cutAfter = published;
      onCut();
    }
  }
  collectGarbage();
  const after = process.memoryUsage();
  return { published, cutAfter, rssGrowthMiB: (after.rss - before.rss) / 1048576, externalGrowthMiB: (after.external - before.external) / 1048576 };
}
