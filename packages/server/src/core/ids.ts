import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

// ulid draws each random character with its own one-byte crypto call (16 per id). The same
// cryptographic source, read from a pool refilled 4 KiB at a time, costs a fraction of that.
const pool = new Uint8Array(4096);
let next = pool.length;
function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++] / 256;
}

/** Publication ids: ULIDs, unique and sortable by time; monotonic within a process. */
export const newPublicationId = monotonicFactory(pooledRandom);

let connectionCounter = 0;
const nodeTag = Math.random().toString(36).slice(2, 8);

/** Connection ids: unique across nodes (a random node tag) and cheap. */
export function newConnectionId(): string {
  connectionCounter += 1;
  return `${nodeTag}-${connectionCounter.toString(36)}`;
}
