import { EngineUnavailableError } from '../engine.js';
import type { RedisClient } from './redis-client.js';
import { asEngineError } from './redis-errors.js';

/** `WAIT`-based durability: how many replicas must hold a write before it is acknowledged. */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
}

/**
 * Runs a script defined on the client (see defineScript) and then `WAIT replicas timeout` on the
 * same connection, in one pipeline: on a cluster the pipeline goes to the script's slot, so WAIT
 * asks the master that ran it. Replication stays asynchronous; WAIT only tells how far it got.
 * Fewer replicas than asked within the timeout fails the call as unavailable: the write happened
 * (and was delivered) but may not survive a failover, so the caller retries with its idempotency
 * key and gets the same publication back once a replica has it.
 */
export async function runWithReplicas(redis: RedisClient, script: string, args: (string | number)[], wait: ReplicaWait): Promise<unknown> {
  const pipeline = redis.pipeline() as unknown as Record<string, (...a: unknown[]) => unknown> & ReturnType<RedisClient['pipeline']>;
  pipeline[script](...args);
  pipeline.call('WAIT', wait.replicas, wait.timeoutMs);
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await pipeline.exec();
  } catch (err) {
    throw asEngineError(err);
  }
  const [[scriptError, reply], [waitError, acked]] = replies ?? [[new Error('no reply'), null], [null, 0]];
  if (scriptError) throw asEngineError(scriptError);
  if (waitError) throw asEngineError(waitError);
  if (Number(acked) < wait.replicas) {
    throw new EngineUnavailableError(`Redis unavailable: the write reached ${Number(acked)} of ${wait.replicas} replicas within ${wait.timeoutMs} ms`);
  }
  return reply;
}
