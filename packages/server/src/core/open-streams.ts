import type { StreamKind } from './stream-messages.js';

/** A stream opened on this node and not yet ended, as the cluster-wide list shows it. */
export interface OpenStreamListing {
  id: string;
  tenant: string;
  channels: string[];
  kind: StreamKind;
  openedAt: number;
}

/** Streams listed per node at most; past it the oldest are no longer listed (they still run). */
const MAX_LISTED = 10_000;

/**
 * The streams this node opened that have not ended, for `GET /api/v1/streams`: the engine keeps
 * streams by id and channel only, so each node answers for the ones it opened (core/cluster.ts).
 * An end anywhere in the cluster reaches every node over the control channel and removes it here.
 */
export class OpenStreams {
  private readonly streams = new Map<string, OpenStreamListing>();

  add(stream: OpenStreamListing): void {
    if (this.streams.size >= MAX_LISTED) this.streams.delete(this.streams.keys().next().value!);
    this.streams.set(stream.id, stream);
  }

  ended(id: string): void {
    this.streams.delete(id);
  }

  list(tenant?: string): OpenStreamListing[] {
    return [...this.streams.values()].filter((s) => tenant === undefined || s.tenant === tenant);
  }
}
