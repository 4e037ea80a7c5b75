import type { Publisher } from '@herald/protocol';
import type { ChannelRuleConfig } from '../config/schema.js';

/** A signal a connection started and has not ended: its start publication and the end owed. */
export interface ActiveSignal {
  channel: string;
  /** The start publication, as it was published. */
  id: string;
  event: string;
  data: unknown;
  offset: number;
  ts: number;
  publisher?: Publisher;
  endEvent: string;
}

/**
 * Signals a connection started and has not ended (typing, editing): what a new subscriber of
 * the channel is shown (see Node.activeSignals), and the end events published for the
 * connection when it disconnects. Bounded: a connection holds at most `max`, the oldest goes.
 */
export class SignalTracker {
  /** Made on the first signal: most connections never start one, and an idle connection should cost little. */
  private openByKey: Map<string, ActiveSignal> | undefined;

  private get open(): Map<string, ActiveSignal> {
    return (this.openByKey ??= new Map());
  }

  constructor(private readonly max = 100) {}

  /** Records a client publication: a start opens a signal, its end event closes it. */
  published(rule: ChannelRuleConfig, start: Omit<ActiveSignal, 'endEvent'>): void {
    const signals = rule.signals;
    if (!signals) return;
    const { channel, event } = start;
    const endEvent = signals[event];
    if (endEvent !== undefined) {
      const key = `${channel}\u0000${event}`;
      // A start given again replaces the earlier one and counts as the newest.
      this.open.delete(key);
      if (this.open.size >= this.max) this.open.delete(this.open.keys().next().value as string);
      this.open.set(key, { ...start, endEvent });
      return;
    }
    for (const [startEvent, end] of Object.entries(signals)) if (end === event) this.openByKey?.delete(`${channel}\u0000${startEvent}`);
  }

  /** How many signals are open. */
  get size(): number {
    return this.openByKey?.size ?? 0;
  }

  /** The signals open on one channel. */
  on(channel: string): ActiveSignal[] {
    if (!this.openByKey) return [];
    return [...this.openByKey.values()].filter((s) => s.channel === channel);
  }

  /** The end events still owed, and forgets them. */
  drain(): ActiveSignal[] {
    if (!this.openByKey) return [];
    const owed = [...this.openByKey.values()];
    this.openByKey = undefined;
    return owed;
  }
}
