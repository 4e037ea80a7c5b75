import type { Publisher } from '@herald/protocol';

/** Who a connection is, as lifecycle events name it. */
export interface ConnectionRef {
  connectionId: string;
  tenant: string;
  userId: string;
  transport: string;
}

/** Why a connection or a request was refused: the label of `herald_denials_total` and the log's `reason`. */
export type DenialReason =
  | 'unauthorized'
  | 'origin'
  | 'tenant_full'
  | 'route_full'
  | 'channel_full'
  | 'rate_limited'
  | 'subscribe_forbidden'
  | 'publish_forbidden'
  | 'cancel_forbidden'
  | 'slow_consumer';

/** Everything the node announces, by event name. */
export interface LifecycleEvents {
  connect: ConnectionRef & { route?: string };
  disconnect: ConnectionRef & { code: number };
  subscribe: ConnectionRef & { channel: string };
  unsubscribe: ConnectionRef & { channel: string };
  /** A refused connection or request. Fields the refusal knows: before authentication there is no connection. */
  denial: { reason: DenialReason; transport?: string; tenant?: string; userId?: string; connectionId?: string; channel?: string; path?: string; detail?: string };
  /**
   * A publication stored, on every channel it went to (`duplicate`: an idempotent retry, nothing
   * stored); `connectionId` is the publishing connection where the publisher names it (Pusher client events).
   */
  publish: { source: 'api' | 'client'; tenant: string; channels: string[]; event: string; id: string; duplicate: boolean; data?: unknown; publisher?: Publisher; connectionId?: string };
  /** One publication handed to this node's subscribers. */
  delivery: { key: string; delivered: number };
  /** The server closed a connection: replaced, expired, too slow, by an operator, at shutdown. */
  eviction: ConnectionRef & { code: number; reason: string };
  lock: { action: 'acquired' | 'refreshed' | 'released'; tenant: string; channel: string; name: string; connectionId: string; userId: string; reason?: string };
  /** How many channels have subscribers on this node, when it changes. */
  channels: { count: number };
  /**
   * A stream's life (see docs/streams.md), emitted once, on the node where it happened: opened and
   * ended by the backend, cancelled by a viewer (`userId`, `connectionId`) or failed on idle timeout.
   */
  stream: {
    action: 'opened' | 'completed' | 'failed' | 'cancelled';
    tenant: string;
    channel: string;
    streamId: string;
    userId?: string;
    connectionId?: string;
    reason?: string;
  };
  /**
   * A user arrived in a channel that keeps presence (`presence` or `joinLeave`), with their
   * first connection, or left it with their last; on that connection's node.
   */
  presence: ConnectionRef & { action: 'join' | 'leave'; channel: string };
  /**
   * A channel got its first subscriber in the cluster, or lost its last one; decided atomically
   * by the engine's presence and emitted by the one node that decided it. Channels are tracked
   * for it only while someone listens (`has('occupancy')`) or the rule keeps presence.
   */
  occupancy: { action: 'occupied' | 'vacated'; tenant: string; channel: string };
  /** An application frame from a client of a `data` route (one that is not a protocol frame), on its node. */
  message: ConnectionRef & { route: string; data: Record<string, unknown> };
  /** A webhook delivery given up on (retries exhausted) or dropped (queue full), on the sending node. */
  webhook: { action: 'failed' | 'dropped'; endpoint: string; type: string; webhookId: string; status?: number; reason: string };
}

export type LifecycleEventName = keyof LifecycleEvents;
type Listener<K extends LifecycleEventName> = (event: LifecycleEvents[K]) => void;

/**
 * The node's lifecycle as typed events: metrics and logs listen here, and so may the audit
 * feed, webhooks and the console. Emitting an event nobody listens to costs a property read;
 * call sites that build an event object on a hot path check `has()` first. A listener that
 * throws is reported to `onListenerError` and does not stop the others.
 *
 * @example
 * bus.on('connect', (e) => console.log(e.userId, 'connected over', e.transport));
 */
export class LifecycleBus {
  private readonly listeners: { [K in LifecycleEventName]?: Listener<K>[] } = {};

  constructor(private readonly onListenerError: (err: unknown, event: LifecycleEventName) => void = () => {}) {}

  on<K extends LifecycleEventName>(name: K, listener: Listener<K>): () => void {
    const list = (this.listeners[name] ??= []) as Listener<K>[];
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  has(name: LifecycleEventName): boolean {
    return (this.listeners[name]?.length ?? 0) > 0;
  }

  emit<K extends LifecycleEventName>(name: K, event: LifecycleEvents[K]): void {
    const list = this.listeners[name] as Listener<K>[] | undefined;
    if (!list) return;
    for (const listener of list) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err, name);
      }
    }
  }
}
