import { z } from 'zod';
import { duration } from './duration.js';

/** `host:port`, a Redis Cluster node or a sentinel. */
const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/, 'expected host:port, e.g. 10.0.0.5:6379');

/**
 * `engine.redis` beyond one endpoint: a Redis Cluster, or Sentinel, and WAIT-based durability.
 * Spread into the `engine.redis` object of schema.ts; `redisTopologyProblem` checks how they combine.
 */
export const redisTopologyFields = {
  /** Some nodes of a Redis Cluster (7.0 or later); Herald learns the rest from them. */
  cluster: z.array(hostPort).min(1).optional(),
  /** Redis Sentinels watching the master `masterName`. */
  sentinels: z.array(hostPort).min(1).optional(),
  masterName: z.string().min(1).optional(),
  sentinelPassword: z.union([z.string(), z.number().transform(String)]).optional(),
  /** Acknowledge a publish only once this many replicas have it (WAIT). 0: once the master has it. */
  waitReplicas: z.number().int().min(0).max(16).default(0),
  /** How long a publish waits for `waitReplicas` before it answers 503. */
  waitTimeout: duration.default(500),
};

/** Adds an issue to `ctx` for settings that cannot go together. */
export function checkRedisTopology(
  redis: { cluster?: string[]; sentinels?: string[]; masterName?: string; waitReplicas: number; waitTimeout: number; commandTimeout: number },
  ctx: z.RefinementCtx,
): void {
  // WAIT runs on the command connection: a longer wait would be cut by the command timeout.
  if (redis.waitReplicas > 0 && redis.waitTimeout >= redis.commandTimeout) {
    ctx.addIssue({ code: 'custom', path: ['waitTimeout'], message: `waitTimeout (${redis.waitTimeout} ms) must be shorter than commandTimeout (${redis.commandTimeout} ms)` });
  }
  if (redis.cluster && redis.sentinels) ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'cluster and sentinels cannot both be set: a Redis Cluster fails over on its own' });
  if (redis.sentinels && !redis.masterName) ctx.addIssue({ code: 'custom', path: ['masterName'], message: 'sentinels need masterName, the master group the sentinels monitor' });
}
