import type { Backoff } from './backoff.js';

/** The next reconnect attempt, as a connection state tells it. */
export interface PlannedRetry {
  attempt: number;
  retryAt: number;
}

/**
 * Reconnect attempts since the link was last up, and the timer of the next one, for every
 * client kind: the backoff decides the delay of each attempt, or that there is none left.
 */
export class Retry {
  /** Attempts made since the link was last up. */
  attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly backoff: Backoff) {}

  /** Schedules the next attempt; undefined when the backoff has given up (nothing is scheduled). */
  schedule(run: () => void): PlannedRetry | undefined {
    const next = this.attempt + 1;
    const delay = this.backoff.delay(next);
    if (delay === undefined) return undefined;
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt = next;
      run();
    }, delay);
    return { attempt: next, retryAt: Date.now() + delay };
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The link is up, or the client starts over: the next failure is attempt 1 again. */
  reset(): void {
    this.cancel();
    this.attempt = 0;
  }
}
