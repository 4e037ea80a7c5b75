export interface WatchdogOptions {
  /** The server's ping interval, from the `connected` frame, in ms. */
  interval: number;
  /** Missed pings after which the link is declared dead. */
  missed: number;
  /** Asks the server for a sign of life (a client ping); called once a ping is overdue. */
  probe(): void;
  /** The link is dead: drop it and reconnect. */
  dead(silentMs: number): void;
  now?: () => number;
}

/**
 * Notices a link that has gone silent without closing (a dead NAT entry, a suspended laptop):
 * every frame from the server counts as a sign of life; after `missed` ping intervals without
 * one, the link is declared dead. When one ping is overdue the server is probed, so a server
 * that sends no app-level pings is not mistaken for a dead one.
 */
export class Watchdog {
  private lastSeen: number;
  private probed = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => number;
  private readonly slack: number;

  constructor(private readonly options: WatchdogOptions) {
    this.now = options.now ?? Date.now;
    this.lastSeen = this.now();
    // The server's heartbeat timer ticks coarsely; allow for a late ping.
    this.slack = Math.min(options.interval / 4, 5000);
  }

  start(): void {
    this.stop();
    this.lastSeen = this.now();
    const period = Math.max(25, Math.min(this.options.interval / 4, 5000));
    this.timer = setInterval(() => this.check(), period);
  }

  /** A frame arrived. */
  touch(): void {
    this.lastSeen = this.now();
    this.probed = false;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const silent = this.now() - this.lastSeen;
    const { interval, missed } = this.options;
    if (silent >= interval * missed + this.slack) {
      this.stop();
      this.options.dead(silent);
    } else if (silent >= interval + this.slack && !this.probed) {
      this.probed = true;
      this.options.probe();
    }
  }
}
