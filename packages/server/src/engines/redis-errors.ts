import { ReplyError } from 'ioredis';
import { EngineUnavailableError } from '../engine.js';

/**
 * Redis replies that mean "not now" rather than "never": loading a dataset, busy with a script,
 * a read-only replica, out of memory, a cluster or primary that is down, a slot that moved
 * (MOVED or ASK reaching the caller: a redirection the client could not follow, nothing ran).
 */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|READONLY|MASTERDOWN|OOM|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF|MOVED|ASK)\b/;

/** A cluster node's MOVED reply: the key's (or sharded channel's) slot belongs to another master now. */
export function isMoved(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError' && err.message.startsWith('MOVED ');
}

/**
 * Sorts a failed Redis round trip: no answer (connection down, not writeable, timed out) or a
 * transient refusal is EngineUnavailableError, with the original as its cause; any other reply
 * error (a wrong type, a script fault) and JS errors are returned as they are: faults, not outages.
 */
export function asEngineError(err: unknown): Error {
  if (err instanceof EngineUnavailableError) return err;
  const error = err instanceof Error ? err : new Error(String(err));
  // A JS fault on the way (bad arguments, an encoding that overflowed) is no outage.
  if (error instanceof TypeError || error instanceof RangeError) return error;
  if (error.name === 'ReplyError' && !TRANSIENT_REPLIES.test(error.message)) return error;
  return new EngineUnavailableError(`Redis unavailable: ${error.message}`, { cause: error });
}

/** A Redis call whose failure is sorted by asEngineError. */
export function sorted<T>(call: Promise<T>): Promise<T> {
  return call.catch((err: unknown) => {
    throw asEngineError(err);
  });
}

/** The error of one item a script reported as failed (its message is the Redis reply's), sorted as asEngineError sorts a reply. */
export function scriptItemError(message: string): Error {
  return asEngineError(new ReplyError(message) as Error);
}
