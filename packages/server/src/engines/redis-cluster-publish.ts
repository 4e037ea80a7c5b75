import type { RedisClient } from './redis-client.js';
import { sorted } from './redis-errors.js';

/**
 * Publishing a pub/sub message the way the client's topology needs it. On a Redis Cluster a
 * message goes out with SPUBLISH (sharded pub/sub, Redis 7): it stays on the shard that owns the
 * channel's slot instead of crossing the cluster bus to every node, and inside a script it is
 * allowed only for a channel in the script's own slot (name it with the keys' `{hash tag}`).
 * On one Redis (or Sentinel) it is a plain PUBLISH.
 */
export function isSharded(redis: RedisClient): boolean {
  return redis.isCluster;
}

/**
 * Lua defining `publish_message(channel, payload)` for a script that publishes: prepend it to
 * the script's source.
 *
 * @example
 * const lua = `${publishMessageLua(isSharded(redis))}\npublish_message(ARGV[1], ARGV[2])`;
 */
export function publishMessageLua(sharded: boolean): string {
  return `
local function publish_message(channel, payload)
  return redis.call('${sharded ? 'SPUBLISH' : 'PUBLISH'}', channel, payload)
end
`;
}

/** Publishes one message outside a script (SPUBLISH on a cluster, PUBLISH otherwise); failures sorted by asEngineError. */
export function publishMessage(redis: RedisClient, channel: string, payload: string): Promise<number> {
  return sorted(isSharded(redis) ? (redis.spublish(channel, payload) as Promise<number>) : redis.publish(channel, payload));
}
