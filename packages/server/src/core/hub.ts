import { splitChannelKey, channelKey, type ChannelKey, type ChannelMessage, type HistoryPage, type HistoryQuery } from '../engine.js';
import type { Logger } from '../logger.js';
import { DeliveryRepair, type RepairableChannel } from './delivery-repair.js';
import type { LifecycleBus } from './events.js';
import { OutboundPublication } from './outbound.js';
import type { Subscription } from './subscription.js';

interface ChannelState extends RepairableChannel {
  subscribers: Set<Subscription>;
  /** Resolves when the engine delivers this key to the node. */
  ready: Promise<void>;
}

/** What the hub needs from the node, the engine's owner: a channel's feed and its history. */
export interface ChannelFeed {
  /** Starts delivering the key to this node (its first local subscriber); resolves once live. */
  subscribe(key: ChannelKey): Promise<void>;
  /** Stops delivering the key to this node (its last local subscriber left). */
  unsubscribe(key: ChannelKey): Promise<void>;
  history(key: ChannelKey, query: HistoryQuery): Promise<HistoryPage>;
  /** Whether the channel keeps history (without it a repair has nothing to read). */
  historyKept(channel: string): boolean;
  /** Whether the engine can serve now. */
  engineReady(): boolean;
}

/**
 * The node's channel registry and fan-out: which subscriptions each channel has here, one feed
 * per channel from the engine, every message handed to each subscriber, and the repair of
 * delivery after an engine interruption. Knows nothing of sockets, sessions or other nodes.
 */
export class Hub {
  private readonly channels = new Map<ChannelKey, ChannelState>();
  private readonly repairs: DeliveryRepair;

  constructor(
    private readonly feed: ChannelFeed,
    private readonly logger: Logger,
    private readonly events: LifecycleBus,
  ) {
    this.repairs = new DeliveryRepair({
      history: (key, query) => feed.history(key, query),
      engineReady: () => feed.engineReady(),
      logger,
      historyKept: (channel) => feed.historyKept(channel),
      current: (key, state) => this.channels.get(key) === state,
      fanOut: (state, message) => this.fanOut(state as ChannelState, message),
    });
  }

  /** Adds a subscription; the channel's first local subscriber subscribes the node at the engine. */
  async attach(sub: Subscription): Promise<void> {
    let state = this.channels.get(sub.key);
    if (!state) {
      const created: ChannelState = { subscribers: new Set(), ready: this.feed.subscribe(sub.key) };
      state = created;
      this.channels.set(sub.key, created);
      this.events.emit('channels', { count: this.channels.size });
      created.ready.catch(() => {
        // Roll back so the next subscriber tries the engine again.
        if (this.channels.get(sub.key) === created) this.channels.delete(sub.key);
      });
    }
    state.subscribers.add(sub);
    await state.ready;
  }

  /** Removes a subscription; the channel's last local subscriber unsubscribes the node. */
  detach(sub: Subscription): void {
    const state = this.channels.get(sub.key);
    if (!state || !state.subscribers.delete(sub) || state.subscribers.size > 0) return;
    this.channels.delete(sub.key);
    this.events.emit('channels', { count: this.channels.size });
    this.feed.unsubscribe(sub.key).catch((err) => this.logger.warn({ err, key: sub.key }, 'engine unsubscribe failed'));
  }

  /** A channel's message from the engine, for this node's subscribers (held while the channel waits for a repair). */
  deliver(message: ChannelMessage): void {
    const state = this.channels.get(message.key);
    if (!state || this.repairs.hold(message.key, state, message)) return;
    this.fanOut(state, message);
  }

  /** Engine delivery stopped: every channel holds what still arrives until its repair. */
  interrupt(): void {
    this.repairs.interrupt(this.channels.values());
  }

  /** Engine delivery is back: every channel is repaired from history, then goes live again. */
  resume(): void {
    this.repairs.resume(this.channels.entries());
  }

  /** Local subscriber count of a channel (routes use it for their connection limit). */
  localSubscribers(tenant: string, channel: string): number {
    return this.channels.get(channelKey(tenant, channel))?.subscribers.size ?? 0;
  }

  /** Channels with subscribers on this node, optionally of one tenant, the busiest first. */
  roomStats(tenant?: string) {
    const rooms: { tenant: string; channel: string; subscribers: number }[] = [];
    for (const [key, state] of this.channels) {
      const { tenant: t, channel } = splitChannelKey(key);
      // Herald's own `$` channels (the tenant channel, the audit feed) are not the app's rooms.
      if (channel.startsWith('$') || (tenant !== undefined && t !== tenant)) continue;
      rooms.push({ tenant: t, channel, subscribers: state.subscribers.size });
    }
    rooms.sort((a, b) => b.subscribers - a.subscribers || a.channel.localeCompare(b.channel));
    return { total: rooms.length, rooms };
  }

  private fanOut(state: ChannelState, message: ChannelMessage): void {
    if (message.kind === 'pub') {
      const out = new OutboundPublication(message.publication);
      let delivered = 0;
      for (const sub of state.subscribers) if (sub.deliver(out)) delivered += 1;
      this.events.emit('delivery', { key: message.key, delivered });
      return;
    }
    const { channel } = splitChannelKey(message.key);
    // A user is not told of their own arrival: across nodes the join comes back after their subscribe.
    // A pending subscription hears of others only if its transport orders them after its member list.
    for (const sub of state.subscribers) {
      if ((!sub.pending || sub.joinsWhilePending) && sub.memberId !== message.user.userId) sub.subscriber.sendJoinLeave(message.kind, channel, message.user);
    }
  }
}
