import type { ChannelRuleConfig } from '../config/schema.js';

interface OpenSignal {
  channel: string;
  endEvent: string;
  data: unknown;
}

/**
 * Signals a connection started and has not ended (typing, editing), so that their end events
 * can be published for it when it disconnects. Bounded: a connection holds at most `max`.
 */
export class SignalTracker {
  private readonly open = new Map<string, OpenSignal>();

  constructor(private readonly max = 100) {}

  /** Records a client publication: a start opens a signal, its end event closes it. */
  published(rule: ChannelRuleConfig, channel: string, event: string, data: unknown): void {
    const signals = rule.signals;
    if (!signals) return;
    const endEvent = signals[event];
    if (endEvent !== undefined) {
      if (this.open.size >= this.max) this.open.delete(this.open.keys().next().value as string);
      this.open.set(`${channel}\u0000${event}`, { channel, endEvent, data });
      return;
    }
    for (const [start, end] of Object.entries(signals)) if (end === event) this.open.delete(`${channel}\u0000${start}`);
  }

  /** The end events still owed, and forgets them. */
  drain(): OpenSignal[] {
    const owed = [...this.open.values()];
    this.open.clear();
    return owed;
  }
}
