import type { PresenceUser } from '@herald/protocol';
import type {
  Broker,
  ChannelKey,
  ControlCommand,
  Engine,
  EngineHandler,
  HistoryPage,
  HistoryQuery,
  PublishInput,
  PublishOptions,
  PublishResult,
  StoredPublication,
} from '../engine.js';
import { ExpiringMap } from './expiring-map.js';
import { MemoryLocks } from './memory-locks.js';
import { MemoryHistory } from './memory-history.js';
import { MemoryConnections, MemoryPresence } from './memory-presence.js';
import { assertStorable } from './storable-data.js';

export interface MemoryEngineOptions {
  /** How long a stream created by a read (no publish yet) keeps its epoch, in ms. Default 1 day. */
  defaultMetaTtlMs?: number;
  /** Most idempotency keys kept at once. Default 100,000. */
  maxIdempotencyKeys?: number;
  /** How often expired streams and keys are swept, in ms. Default 60 s. */
  sweepIntervalMs?: number;
}

/**
 * See Broker. One process: subscribe is a no-op (every key is "subscribed", the hub filters by
 * its own subscribers) and publish calls the handler directly, synchronously.
 */
class MemoryBroker implements Broker {
  handler: EngineHandler | undefined;

  constructor(
    private readonly history_: MemoryHistory,
    private readonly idempotency: ExpiringMap<StoredPublication>,
    private readonly reservedIds: ExpiringMap<string>,
  ) {}

  async subscribe(_key: ChannelKey): Promise<void> {}
  async unsubscribe(_key: ChannelKey): Promise<void> {}

  async publish(key: ChannelKey, input: PublishInput, options: PublishOptions): Promise<PublishResult> {
    assertStorable(input.data);
    const idemKey = options.idempotency ? `${key}\u0000${options.idempotency.key}` : undefined;
    if (idemKey) {
      const first = this.idempotency.get(idemKey);
      if (first) return { publication: first, duplicate: true };
    }
    const publication = this.history_.append(
      key,
      (offset, epoch) => ({
        id: input.id,
        channel: input.channel,
        event: input.event,
        data: input.data,
        offset,
        epoch,
        ts: input.ts,
        ...(input.audience ? { audience: input.audience } : {}),
        ...(input.publisher ? { publisher: input.publisher } : {}),
      }),
      options.history,
    );
    if (idemKey && options.idempotency) this.idempotency.set(idemKey, publication, options.idempotency.ttlMs);
    this.handler?.onChannelMessage({ kind: 'pub', key, publication });
    return { publication, duplicate: false };
  }

  async reserveId(tenant: string, idempotencyKey: string, id: string, ttlMs: number): Promise<string> {
    const key = `${tenant}\u0000${idempotencyKey}`;
    const kept = this.reservedIds.get(key);
    if (kept !== undefined) return kept;
    this.reservedIds.set(key, id, ttlMs);
    return id;
  }

  async publishJoinLeave(kind: 'join' | 'leave', key: ChannelKey, user: PresenceUser): Promise<void> {
    this.handler?.onChannelMessage({ kind, key, user });
  }

  async history(key: ChannelKey, query: HistoryQuery): Promise<HistoryPage> {
    return this.history_.read(key, query);
  }

  async publishControl(command: ControlCommand): Promise<void> {
    this.handler?.onControl(command);
  }

  /** See Broker: one process is one node. */
  async nodeCount(): Promise<number> {
    return 1;
  }
}

/**
 * The embedded default engine: everything in this process's memory. Nothing survives a restart
 * (a restart starts new epochs, so resuming clients get `recovered: false`, never a wrong replay).
 *
 * @example
 * const engine = createMemoryEngine();
 * await engine.start(node);
 */
export function createMemoryEngine(options: MemoryEngineOptions = {}): Engine {
  const history = new MemoryHistory(options.defaultMetaTtlMs ?? 24 * 3600_000);
  const idempotency = new ExpiringMap<StoredPublication>(options.maxIdempotencyKeys ?? 100_000);
  const reservedIds = new ExpiringMap<string>(options.maxIdempotencyKeys ?? 100_000);
  const broker = new MemoryBroker(history, idempotency, reservedIds);
  const resumeRecords = new ExpiringMap<string>(options.maxIdempotencyKeys ?? 100_000);
  const locks = new MemoryLocks();
  let sweeper: NodeJS.Timeout | undefined;
  return {
    name: 'memory',
    broker,
    presence: new MemoryPresence(),
    connections: new MemoryConnections(),
    locks,
    resumeRecords: {
      save: async (id, record, ttlMs) => resumeRecords.set(id, record, ttlMs),
      load: async (id) => resumeRecords.get(id),
      remove: async (id) => void resumeRecords.delete(id),
    },
    async start(handler) {
      broker.handler = handler;
      sweeper = setInterval(() => {
        history.sweep();
        idempotency.sweep();
        reservedIds.sweep();
        resumeRecords.sweep();
        locks.sweep();
      }, options.sweepIntervalMs ?? 60_000);
      sweeper.unref();
    },
    isReady: () => broker.handler !== undefined,
    async close() {
      if (sweeper) clearInterval(sweeper);
      broker.handler = undefined;
    },
  };
}
