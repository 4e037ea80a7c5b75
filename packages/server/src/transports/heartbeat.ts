/** What the heartbeat needs of a connection. */
export interface Beating {
  /** When the last sign of life (pong or any message) arrived, ms since epoch. */
  lastSeen: number;
  ping(): void;
  /** `missedPings` pings in a row went unanswered within the timeout. */
  dead(): void;
}

interface BeatState {
  nextPingAt: number;
  /** When the ping being timed was sent; 0 when none is. */
  pingSentAt: number;
  /** Pings in a row that went unanswered; the last of them was sent at `missedAt`. */
  missed: number;
  missedAt: number;
  /** How many of those end the connection. */
  allowed: number;
}

/**
 * Pings every connection each `interval`; a ping with no sign of life within `timeout` is
 * missed, and a connection that misses its allowance in a row (1 unless its route says more) is
 * declared dead. One timer for all connections: per-connection timers cost more at scale.
 */
export class Heartbeat {
  private readonly members = new Map<Beating, BeatState>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly interval: number, private readonly timeout: number) {
    const tick = Math.max(10, Math.min(1000, Math.floor(Math.min(interval, timeout) / 4)));
    this.timer = setInterval(() => this.tick(), tick);
    this.timer.unref();
  }

  /** Adds a connection that is declared dead after `missedPings` unanswered pings in a row. */
  add(member: Beating, missedPings = 1): void {
    this.members.set(member, { nextPingAt: Date.now() + this.interval, pingSentAt: 0, missed: 0, missedAt: 0, allowed: missedPings });
  }

  delete(member: Beating): void {
    this.members.delete(member);
  }

  get size(): number {
    return this.members.size;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = Date.now();
    for (const [member, state] of this.members) {
      // A late answer still shows the connection lives: the misses before it do not count.
      if (state.missed > 0 && member.lastSeen >= state.missedAt) state.missed = 0;
      if (state.pingSentAt > 0) {
        if (member.lastSeen >= state.pingSentAt) {
          state.pingSentAt = 0;
          state.missed = 0;
        } else if (now - state.pingSentAt >= this.timeout) {
          state.missedAt = state.pingSentAt;
          state.pingSentAt = 0;
          if (++state.missed >= state.allowed) {
            this.members.delete(member);
            member.dead();
            continue;
          }
        }
      }
      if (now >= state.nextPingAt) {
        state.nextPingAt = now + this.interval;
        // A ping sent while an earlier one is still timed is not timed itself: the earlier one decides.
        if (state.pingSentAt === 0) state.pingSentAt = now;
        member.ping();
      }
    }
  }
}
