import { randomFillSync, randomInt } from 'node:crypto';
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
/** Always six base-36 digits, none leading zero, so an id reads back as two numbers (see numericConnectionId). */
const nodeTag = randomInt(36 ** 5, 36 ** 6).toString(36);

/** Connection ids, `<node tag>-<counter>` in base 36: unique across nodes (a random node tag) and cheap. */
export function newConnectionId(): string {
  connectionCounter += 1;
  return `${nodeTag}-${connectionCounter.toString(36)}`;
}

/**
 * A connection id as two decimal numbers `N.M` (node tag, counter), for protocols whose clients
 * expect ids of that shape; undefined for an id of another form.
 */
export function numericConnectionId(connectionId: string): string | undefined {
  const m = /^([0-9a-z]{6})-([0-9a-z]{1,10})$/.exec(connectionId);
  return m ? `${parseInt(m[1], 36)}.${parseInt(m[2], 36)}` : undefined;
}

/** The connection id of a numeric one (see numericConnectionId); undefined when it cannot be one. */
export function connectionIdOfNumeric(numeric: string): string | undefined {
  const m = /^(\d{1,10})\.(\d{1,16})$/.exec(numeric);
  if (!m) return undefined;
  const tag = Number(m[1]);
  const counter = Number(m[2]);
  if (tag < 36 ** 5 || tag >= 36 ** 6 || !Number.isSafeInteger(counter) || counter < 1) return undefined;
  return `${tag.toString(36)}-${counter.toString(36)}`;
}
