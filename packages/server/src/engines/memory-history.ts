import { randomBytes } from 'node:crypto';
import type { ChannelKey, HistoryOptions, HistoryPage, HistoryQuery, StoredPublication } from '../engine.js';
import { unstorable } from './storable-data.js';

interface Stream {
  epoch: string;
  offset: number;
  items: StoredPublication[];
  /** The item TTL in force when the last item was appended. */
  ttlMs: number;
  /** After this, the whole stream (epoch and offset) is forgotten. */
  metaExpiresAt: number;
}

export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** Per-channel streams of one process: offsets, epochs and bounded history. */
export class MemoryHistory {
  private readonly streams = new Map<ChannelKey, Stream>();

  /** Default meta TTL for streams created by a read, before any publish says otherwise. */
  constructor(private readonly defaultMetaTtlMs: number, private readonly now: () => number = Date.now) {}

  /** Assigns the next offset and appends; returns the offset and epoch. */
  append(key: ChannelKey, build: (offset: number, epoch: string) => StoredPublication, options: HistoryOptions): StoredPublication {
    const stream = this.stream(key);
    stream.offset += 1;
    const publication = build(stream.offset, stream.epoch);
    const now = this.now();
    stream.metaExpiresAt = now + options.metaTtlMs;
    stream.ttlMs = options.ttlMs;
    if (options.size > 0) {
      stream.items.push(publication);
      if (stream.items.length > options.size) stream.items.splice(0, stream.items.length - options.size);
    } else if (stream.items.length > 0) {
      stream.items = [];
    }
    return publication;
  }

  read(key: ChannelKey, query: HistoryQuery): HistoryPage {
    const stream = this.stream(key);
    this.dropExpired(stream);
    let items = stream.items;
    if (query.afterOffset !== undefined) {
      const after = query.afterOffset;
      items = items.filter((p) => p.offset > after);
      if (query.limit !== undefined) items = items.slice(0, query.limit);
    } else if (query.limit !== undefined) {
      items = query.limit === 0 ? [] : items.slice(-query.limit);
    } else {
      items = items.slice();
    }
    // Stored data is held by reference: a caller that changed it since may have made it unencodable.
    const bad = new Set(items.filter((p) => unstorable(p.data) !== undefined));
    if (bad.size === 0) return { epoch: stream.epoch, offset: stream.offset, publications: items };
    return { epoch: stream.epoch, offset: stream.offset, publications: items.filter((p) => !bad.has(p)), unreadable: [...bad].map((p) => p.offset) };
  }

  /** Forgets streams whose meta TTL has passed and history items past their TTL. */
  sweep(): void {
    const now = this.now();
    for (const [key, stream] of this.streams) {
      if (stream.metaExpiresAt <= now) this.streams.delete(key);
      else this.dropExpired(stream);
    }
  }

  get size(): number {
    return this.streams.size;
  }

  /** Forgets every stream, as a backend restarted without its data: the next read or publish starts a new epoch. */
  clear(): void {
    this.streams.clear();
  }

  private stream(key: ChannelKey): Stream {
    let stream = this.streams.get(key);
    const now = this.now();
    if (stream && stream.metaExpiresAt <= now) {
      this.streams.delete(key);
      stream = undefined;
    }
    if (!stream) {
      stream = { epoch: newEpoch(), offset: 0, items: [], ttlMs: 0, metaExpiresAt: now + this.defaultMetaTtlMs };
      this.streams.set(key, stream);
    }
    return stream;
  }

  private dropExpired(stream: Stream): void {
    const cutoff = this.now() - stream.ttlMs;
    let drop = 0;
    while (drop < stream.items.length && stream.items[drop].ts <= cutoff) drop += 1;
    if (drop > 0) stream.items.splice(0, drop);
  }
}
