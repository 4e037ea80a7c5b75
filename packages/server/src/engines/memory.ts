import type { PresenceUser } from '@herald/protocol';
import type {
  Broker,
  ChannelKey,
  ChannelMessage,
  ControlCommand,
  Engine,
  EngineHandler,
  HistoryPage,
  HistoryQuery,
  PublishInput,
  PublishItem,
  PublishItemResult,
  PublishOptions,
  PublishResult,
  StoredPublication,
} from '../engine.js';
import { ExpiringMap } from './expiring-map.js';
import { MemoryLocks } from './memory-locks.js';
import { MemoryHistory } from './memory-history.js';
import { MemoryConnections, MemoryPresence } from './memory-presence.js';
import { MemoryStreamRecords, MemoryStreams } from './memory-streams.js';
import { assertStorable } from './storable-data.js';

export interface MemoryEngineOptions {
  /** How long a stream created by a read (no publish yet) keeps its epoch, in ms. Default 1 day. */
  defaultMetaTtlMs?: number;
  /** Most idempotency keys kept at once. Default 100,000. */
  maxIdempotencyKeys?: number;
  /** How often expired streams and keys are swept, in ms. Default 60 s. */
  sweepIntervalMs?: number;
}

/** Everything a memory backend keeps: one process's, or the one an in-process cluster's nodes share (testing/memory-cluster.ts). */
export class MemoryState {
  readonly history: MemoryHistory;
  readonly idempotency: ExpiringMap<StoredPublication>;
  readonly reservedIds: ExpiringMap<string>;
  readonly resumeRecords: ExpiringMap<string>;
  readonly locks = new MemoryLocks();
  readonly presence = new MemoryPresence();
  readonly connections = new MemoryConnections();
  readonly streams = new MemoryStreamRecords();

  constructor(options: MemoryEngineOptions = {}) {
    const maxKeys = options.maxIdempotencyKeys ?? 100_000;
    this.history = new MemoryHistory(options.defaultMetaTtlMs ?? 24 * 3600_000);
    this.idempotency = new ExpiringMap<StoredPublication>(maxKeys);
    this.reservedIds = new ExpiringMap<string>(maxKeys);
    this.resumeRecords = new ExpiringMap<string>(maxKeys);
  }

  sweep(): void {
    this.history.sweep();
    this.idempotency.sweep();
    this.reservedIds.sweep();
    this.resumeRecords.sweep();
    this.locks.sweep();
    this.streams.byId.sweep();
  }
}

/**
 * How a memory broker reaches the nodes: in one process, straight to its own handler; in an
 * in-process cluster, over a bus to every node (testing/memory-cluster.ts). See Broker for the
 * guarantees each method keeps.
 */
export interface MemoryNode {
  start(handler: EngineHandler): void;
  close(): void;
  isReady(): boolean;
  subscribe(key: ChannelKey): Promise<void>;
  unsubscribe(key: ChannelKey): Promise<void>;
  /** Delivers a key's message to every node subscribed to it, in call order per key. */
  deliver(message: ChannelMessage): void;
  /** Delivers a command to every node, this one included. */
  control(command: ControlCommand): void;
  nodeCount(): number;
}

/** See Broker. Stores in the memory state; reaches nodes through its MemoryNode. */
export class MemoryBroker implements Broker {
  constructor(
    private readonly state: MemoryState,
    private readonly node: MemoryNode,
  ) {}

  subscribe(key: ChannelKey): Promise<void> {
    return this.node.subscribe(key);
  }

  unsubscribe(key: ChannelKey): Promise<void> {
    return this.node.unsubscribe(key);
  }

  async publish(key: ChannelKey, input: PublishInput, options: PublishOptions): Promise<PublishResult> {
    return this.publishNow(key, input, options);
  }

  async publishMany(items: readonly PublishItem[]): Promise<PublishItemResult[]> {
    return items.map((item) => {
      try {
        return this.publishNow(item.key, item.input, item.options);
      } catch (err) {
        return { error: err instanceof Error ? err : new Error(String(err)) };
      }
    });
  }

  /** Synchronous, so that publishes are stored and delivered in call order. */
  private publishNow(key: ChannelKey, input: PublishInput, options: PublishOptions): PublishResult {
    assertStorable(input.data);
    const idemKey = options.idempotency ? `${key}\u0000${options.idempotency.key}` : undefined;
    if (idemKey) {
      const first = this.state.idempotency.get(idemKey);
      if (first) return { publication: first, duplicate: true };
    }
    const publication = this.state.history.append(
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
    if (idemKey && options.idempotency) this.state.idempotency.set(idemKey, publication, options.idempotency.ttlMs);
    this.node.deliver({ kind: 'pub', key, publication });
    return { publication, duplicate: false };
  }

  async reserveId(tenant: string, idempotencyKey: string, id: string, ttlMs: number): Promise<string> {
    const key = `${tenant}\u0000${idempotencyKey}`;
    const kept = this.state.reservedIds.get(key);
    if (kept !== undefined) return kept;
    this.state.reservedIds.set(key, id, ttlMs);
    return id;
  }

  async publishJoinLeave(kind: 'join' | 'leave', key: ChannelKey, user: PresenceUser): Promise<void> {
    this.node.deliver({ kind, key, user });
  }

  async history(key: ChannelKey, query: HistoryQuery): Promise<HistoryPage> {
    return this.state.history.read(key, query);
  }

  async publishControl(command: ControlCommand): Promise<void> {
    this.node.control(command);
  }

  async nodeCount(): Promise<number> {
    return this.node.nodeCount();
  }
}

/**
 * One process: the only node. Subscribe is a no-op (every key is "subscribed", the hub filters
 * by its own subscribers) and publish calls the handler directly, synchronously.
 */
class ProcessNode implements MemoryNode {
  private handler: EngineHandler | undefined;

  start(handler: EngineHandler): void {
    this.handler = handler;
  }

  close(): void {
    this.handler = undefined;
  }

  isReady(): boolean {
    return this.handler !== undefined;
  }

  async subscribe(_key: ChannelKey): Promise<void> {}
  async unsubscribe(_key: ChannelKey): Promise<void> {}

  deliver(message: ChannelMessage): void {
    this.handler?.onChannelMessage(message);
  }

  control(command: ControlCommand): void {
    this.handler?.onControl(command);
  }

  nodeCount(): number {
    return 1;
  }
}

/** An Engine over memory state, reaching nodes through `node`; `broker` defaults to a MemoryBroker. */
export function memoryEngine(state: MemoryState, node: MemoryNode, options: { name?: string; sweepIntervalMs?: number; broker?: Broker } = {}): Engine {
  let sweeper: NodeJS.Timeout | undefined;
  const broker = options.broker ?? new MemoryBroker(state, node);
  return {
    name: options.name ?? 'memory',
    broker,
    // Its writes are atomic only over a broker that publishes before it yields.
    ...(broker instanceof MemoryBroker ? { streams: new MemoryStreams(state.streams, broker, state.history) } : {}),
    presence: state.presence,
    connections: state.connections,
    locks: state.locks,
    resumeRecords: {
      save: async (id, record, ttlMs) => state.resumeRecords.set(id, record, ttlMs),
      load: async (id) => state.resumeRecords.get(id),
      remove: async (id) => void state.resumeRecords.delete(id),
    },
    async start(handler) {
      node.start(handler);
      sweeper = setInterval(() => state.sweep(), options.sweepIntervalMs ?? 60_000);
      sweeper.unref();
    },
    isReady: () => node.isReady(),
    async close() {
      if (sweeper) clearInterval(sweeper);
      node.close();
    },
  };
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
  return memoryEngine(new MemoryState(options), new ProcessNode(), { sweepIntervalMs: options.sweepIntervalMs });
}
