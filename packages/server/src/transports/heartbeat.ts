/** What the heartbeat needs of a connection. */
export interface Beating {
  /** When the last sign of life (pong or any message) arrived, ms since epoch. */
  lastSeen: number;
  ping(): void;
  /** No sign of life within the timeout after a ping. */
  dead(): void;
}

interface BeatState {
  nextPingAt: number;
  /** When the oldest unanswered ping was sent; 0 when none is outstanding. */
  pingSentAt: number;
}

/**
 * Pings every connection each `interval` and declares it dead when no sign of life follows a
 * ping within `timeout`. One timer for all connections: per-connection timers cost more at scale.
 */
export class Heartbeat {
  private readonly members = new Map<Beating, BeatState>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly interval: number, private readonly timeout: number) {
    const tick = Math.max(10, Math.min(1000, Math.floor(Math.min(interval, timeout) / 4)));
    this.timer = setInterval(() => this.tick(), tick);
    this.timer.unref();
  }

  add(member: Beating): void {
    this.members.set(member, { nextPingAt: Date.now() + this.interval, pingSentAt: 0 });
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
      if (state.pingSentAt > 0) {
        if (member.lastSeen >= state.pingSentAt) state.pingSentAt = 0;
        else if (now - state.pingSentAt >= this.timeout) {
          this.members.delete(member);
          member.dead();
          continue;
        }
      }
      if (now >= state.nextPingAt) {
        state.nextPingAt = now + this.interval;
        if (state.pingSentAt === 0) state.pingSentAt = now;
        member.ping();
      }
    }
  }
}
