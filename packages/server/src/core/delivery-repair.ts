import { setTimeout as sleep } from 'node:timers/promises';
import { splitChannelKey, type ChannelKey, type ChannelMessage, type HistoryPage, type HistoryQuery } from '../engine.js';
import type { Logger } from '../logger.js';
import { OutboundPublication } from './outbound.js';
import type { Subscriber, Subscription } from './subscription.js';

/** Messages held for one channel during a repair; past this its subscribers recover on their own. */
const MAX_HELD = 10_000;
/** Pause between attempts while the engine can deliver again but not yet read history. */
const RETRY_MS = 250;

/** What the hub keeps per channel, as repairs see it. */
export interface RepairableChannel {
  subscribers: Set<Subscription>;
  /** Live messages that arrived while the channel waits for its repair; fanned out after it, in order. */
  held?: ChannelMessage[];
  repairing?: boolean;
  /** Another repair was asked for while one ran (a second interruption). */
  again?: boolean;
}

export interface RepairDeps {
  /** Reads a channel's history (through the node, the engine's owner). */
  history(key: ChannelKey, query: HistoryQuery): Promise<HistoryPage>;
  /** Whether the engine can serve again: a failed read before it can is retried, not given up. */
  engineReady(): boolean;
  logger: Logger;
  /** Whether the channel keeps history (without it there is nothing to repair from). */
  historyKept(channel: string): boolean;
  /** Whether the state is still the hub's for the key (it goes when the last subscriber leaves). */
  current(key: ChannelKey, state: RepairableChannel): boolean;
  fanOut(state: RepairableChannel, message: ChannelMessage): void;
}

/**
 * Closes the gap an engine interruption leaves in live delivery (see EngineHandler.onInterrupted).
 * While delivery is down, every channel holds what still arrives; once it is back, each channel
 * reads its history after the oldest position among its subscribers, sends each subscriber what
 * it missed, then releases the held messages, so subscribers see every publication once, in order.
 * A subscriber that cannot be repaired (the stream was reset, or history no longer reaches back)
 * is sent to resync (closed with 1012): it reconnects and resubscribes from its position, and is
 * told plainly what cannot be recovered. This is centrifuge's "insufficient state" disconnect.
 */
export class DeliveryRepair {
  private interrupted = false;

  constructor(private readonly deps: RepairDeps) {}

  interrupt(channels: Iterable<RepairableChannel>): void {
    this.interrupted = true;
    for (const state of channels) state.held ??= [];
  }

  resume(channels: Iterable<[ChannelKey, RepairableChannel]>): void {
    this.interrupted = false;
    for (const [key, state] of channels) if (state.held) void this.repair(key, state);
  }

  /** Holds a live message while its channel waits for a repair; false when it may go out now. */
  hold(key: ChannelKey, state: RepairableChannel, message: ChannelMessage): boolean {
    if (!state.held) return false;
    state.held.push(message);
    if (state.held.length > MAX_HELD) {
      state.held = [];
      this.resync(key, [...state.subscribers], 'too many publications while delivery was repaired');
    }
    return true;
  }

  private async repair(key: ChannelKey, state: RepairableChannel): Promise<void> {
    state.again = true;
    if (state.repairing) return;
    state.repairing = true;
    try {
      while (state.again && !this.interrupted && this.deps.current(key, state)) {
        state.again = false;
        if (!(await this.fill(key, state))) {
          state.again = true;
          await sleep(RETRY_MS);
        }
      }
    } catch (err) {
      this.deps.logger.error({ err, key }, 'delivery repair failed');
      state.again = false;
    } finally {
      state.repairing = false;
    }
    // Interrupted again meanwhile: keep holding; the next resume repairs from where this left.
    if (this.interrupted || state.again || !this.deps.current(key, state)) return;
    const held = state.held ?? [];
    state.held = undefined;
    for (const message of held) this.deps.fanOut(state, message);
  }

  /** One repair attempt; false when history cannot be read yet (the engine is reconnecting). */
  private async fill(key: ChannelKey, state: RepairableChannel): Promise<boolean> {
    const { channel } = splitChannelKey(key);
    const subs = [...state.subscribers];
    if (subs.length === 0 || !this.deps.historyKept(channel)) return true;
    let from = Infinity;
    for (const sub of subs) from = Math.min(from, sub.pending ? 0 : sub.offset);
    let page: HistoryPage;
    try {
      page = await this.deps.history(key, { afterOffset: from });
    } catch (err) {
      if (!this.deps.engineReady()) return false;
      this.deps.logger.warn({ err, key }, 'history read for a delivery repair failed');
      this.resync(key, subs, 'history could not be read');
      return true;
    }
    const outs = page.publications.map((p) => new OutboundPublication(p));
    const lost: Subscription[] = [];
    let sent = 0;
    for (const sub of subs) {
      const after = sub.repairFrom(page.epoch);
      if (after === undefined) {
        lost.push(sub);
        continue;
      }
      const missed = outs.filter((o) => o.publication.offset > after);
      const first = missed[0]?.publication.offset ?? page.offset + 1;
      // An entry that could not be read is a gap like a trimmed one: the subscriber must recover on its own.
      const unreadable = page.unreadable?.some((o) => o > after) ?? false;
      if (!sub.pending && after < page.offset && (first !== after + 1 || unreadable)) {
        lost.push(sub);
        continue;
      }
      for (const out of missed) if (sub.deliver(out)) sent += 1;
    }
    if (sent > 0) this.deps.logger.info({ event: 'delivery_repaired', key, sent }, 'publications missed during an engine interruption sent from history');
    if (lost.length > 0) this.resync(key, lost, page.epoch === lost[0].epoch ? 'history no longer reaches back' : 'the stream was reset');
    return true;
  }

  /** Sends subscribers away to resubscribe from their position, where the answer says what is lost. */
  private resync(key: ChannelKey, subs: Subscription[], why: string): void {
    const { channel } = splitChannelKey(key);
    const subscribers = new Set<Subscriber>(subs.map((s) => s.subscriber));
    this.deps.logger.warn({ event: 'delivery_resync', key, connections: subscribers.size, why }, 'subscribers sent to recover on their own');
    for (const subscriber of subscribers) subscriber.resync(`delivery of ${channel} was interrupted (${why}); reconnect and resubscribe to recover`);
  }
}
