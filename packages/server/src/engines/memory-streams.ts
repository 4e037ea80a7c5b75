import type {
  ChannelKey,
  PublishItem,
  StreamChunk,
  StreamEnd,
  StreamEnding,
  StreamOpening,
  StreamRun,
  StreamSnapshot,
  StreamState,
  StreamStore,
  StreamWrite,
} from '../engine.js';
import { ExpiringMap } from './expiring-map.js';
import type { MemoryBroker } from './memory.js';
import type { MemoryHistory } from './memory-history.js';

interface Run {
  group: string;
  parts: string[];
}

interface MemoryStream {
  keys: ChannelKey[];
  meta: string;
  separator: string;
  state: StreamState;
  runs: Run[];
  bytes: number;
  lastWrite: number;
}

/** Streams kept in one process's memory (shared by an in-process cluster's nodes). */
export class MemoryStreamRecords {
  readonly byId = new ExpiringMap<MemoryStream>(100_000);
  /** Open stream ids by channel key. */
  readonly open = new Map<ChannelKey, Set<string>>();
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * See StreamStore. Each method checks and writes synchronously and publishes through the memory
 * broker's `publishMany`, which stores and delivers before it yields: a write and its
 * publications happen in one step, in call order.
 */
export class MemoryStreams implements StreamStore {
  constructor(
    private readonly records: MemoryStreamRecords,
    private readonly broker: MemoryBroker,
    private readonly history: MemoryHistory,
    private readonly now: () => number = Date.now,
  ) {}

  async open(opening: StreamOpening, items: readonly PublishItem[]) {
    if (this.records.byId.get(opening.id)) return { status: 'exists' as const };
    const stream: MemoryStream = { keys: opening.keys, meta: opening.meta, separator: opening.separator, state: 'open', runs: [], bytes: 0, lastWrite: this.now() };
    this.records.byId.set(opening.id, stream, opening.ttlMs);
    for (const key of opening.keys) {
      let ids = this.records.open.get(key);
      if (!ids) this.records.open.set(key, (ids = new Set()));
      ids.add(opening.id);
    }
    return { status: 'ok' as const, results: await this.broker.publishMany(items) };
  }

  async append(id: string, _home: ChannelKey, chunks: readonly StreamChunk[], items: readonly PublishItem[], maxBytes: number, ttlMs: number): Promise<StreamWrite> {
    const stream = this.records.byId.get(id);
    if (!stream) return { status: 'unknown' };
    if (stream.state !== 'open') return { status: 'ended', state: stream.state };
    let bytes = stream.bytes;
    let group = stream.runs.at(-1)?.group;
    for (const chunk of chunks) {
      bytes += utf8(chunk.text) + (chunk.group === group ? utf8(stream.separator) : 0);
      group = chunk.group;
    }
    if (bytes > maxBytes) return { status: 'too_long', bytes: stream.bytes };
    for (const chunk of chunks) {
      const last = stream.runs.at(-1);
      if (last && last.group === chunk.group) last.parts.push(chunk.text);
      else stream.runs.push({ group: chunk.group, parts: [chunk.text] });
    }
    stream.bytes = bytes;
    stream.lastWrite = this.now();
    this.records.byId.set(id, stream, ttlMs);
    return { status: 'ok', results: await this.broker.publishMany(items), bytes };
  }

  async touch(id: string, _home: ChannelKey, ttlMs: number): Promise<boolean> {
    const stream = this.records.byId.get(id);
    if (!stream || stream.state !== 'open') return false;
    stream.lastWrite = this.now();
    this.records.byId.set(id, stream, ttlMs);
    return true;
  }

  async end(id: string, _home: ChannelKey, ending: StreamEnding, items: readonly PublishItem[]): Promise<StreamEnd> {
    const stream = this.records.byId.get(id);
    if (!stream) return { status: 'unknown' };
    if (stream.state !== 'open') return { status: 'ended', state: stream.state };
    if (ending.idleMs > 0 && this.now() - stream.lastWrite < ending.idleMs) return { status: 'active' };
    stream.state = ending.state;
    for (const key of stream.keys) {
      const ids = this.records.open.get(key);
      ids?.delete(id);
      if (ids?.size === 0) this.records.open.delete(key);
    }
    this.records.byId.set(id, stream, ending.retentionMs);
    return { status: 'ok', results: await this.broker.publishMany(items) };
  }

  async locate(id: string) {
    const stream = this.records.byId.get(id);
    return stream ? { home: stream.keys[0], keys: stream.keys, state: stream.state, meta: stream.meta } : undefined;
  }

  async snapshot(key: ChannelKey) {
    if (!this.records.open.get(key)?.size) return undefined;
    const page = this.history.read(key, { limit: 0 });
    const streams: StreamSnapshot[] = [];
    for (const id of this.records.open.get(key) ?? []) {
      const stream = this.records.byId.get(id);
      if (!stream || stream.state !== 'open') continue;
      const runs: StreamRun[] = stream.runs.map((run) => ({ group: run.group, text: run.parts.join(stream.separator) }));
      streams.push({ id, meta: stream.meta, runs });
    }
    return streams.length > 0 ? { epoch: page.epoch, offset: page.offset, streams } : undefined;
  }

  async idle(idleMs: number, limit: number) {
    const cutoff = this.now() - idleMs;
    const out: { id: string; home: ChannelKey }[] = [];
    for (const ids of this.records.open.values()) {
      for (const id of ids) {
        const stream = this.records.byId.get(id);
        if (!stream) {
          ids.delete(id);
          continue;
        }
        if (stream.state === 'open' && stream.lastWrite <= cutoff && !out.some((o) => o.id === id)) out.push({ id, home: stream.keys[0] });
        if (out.length >= limit) return out;
      }
    }
    return out;
  }
}
