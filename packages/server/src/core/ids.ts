import { monotonicFactory } from 'ulid';

/** Publication ids: ULIDs, unique and sortable by time; monotonic within a process. */
export const newPublicationId = monotonicFactory();

let connectionCounter = 0;
const nodeTag = Math.random().toString(36).slice(2, 8);

/** Connection ids: unique across nodes (a random node tag) and cheap. */
export function newConnectionId(): string {
  connectionCounter += 1;
  return `${nodeTag}-${connectionCounter.toString(36)}`;
}
