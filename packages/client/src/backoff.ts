/** When to make each reconnect attempt. */
export interface Backoff {
  /** The delay before attempt `attempt` (1-based), in ms, or undefined to give up. */
  delay(attempt: number): number | undefined;
}

export interface BackoffOptions {
  /** Delays of the first attempts, in ms; later ones grow from the last by `factor`. */
  schedule?: number[];
  /** The first delay when no `schedule` is given. Default 1000. */
  initial?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** No delay exceeds this. Default 30 000. */
  max?: number;
  /** Attempts before giving up. Default Infinity. */
  maxAttempts?: number;
  /**
   * Spread each delay by up to this fraction either way (0.2: ±20 %), so that many clients cut
   * off at once do not come back at once. Still capped at `max`. Default 0.2.
   */
  jitter?: number;
  /** A source of randomness in [0, 1); for tests. */
  random?: () => number;
}

/**
 * Exponential backoff with jitter, a cap and an attempt limit.
 *
 * @example
 * const fast = exponentialBackoff({ initial: 500, max: 10_000, maxAttempts: 20 });
 * const client = createHeraldClient({ url, token, backoff: fast });
 */
export function exponentialBackoff(options: BackoffOptions = {}): Backoff {
  const schedule = options.schedule ?? [options.initial ?? 1000];
  if (schedule.length === 0) throw new RangeError('backoff schedule must not be empty');
  const factor = options.factor ?? 2;
  const max = options.max ?? 30_000;
  const maxAttempts = options.maxAttempts ?? Infinity;
  const jitter = Math.min(Math.max(options.jitter ?? 0.2, 0), 1);
  const random = options.random ?? Math.random;
  return {
    delay(attempt) {
      if (!(attempt >= 1) || attempt > maxAttempts) return undefined;
      const last = schedule.length - 1;
      const base = attempt - 1 <= last ? schedule[attempt - 1] : schedule[last] * factor ** (attempt - 1 - last);
      const spread = jitter === 0 ? 1 : 1 + jitter * (random() * 2 - 1);
      return Math.round(Math.min(base * spread, max));
    },
  };
}

/**
 * Seed 000 (the scheduling portal): five attempts, 1, 2, 4, 8 and 16 s after the drop, then
 * `failed`. The seed fixes only the number of attempts; the delays are the default's first five.
 */
export const seed000Backoff: Backoff = exponentialBackoff({ initial: 1000, factor: 2, max: 30_000, maxAttempts: 5, jitter: 0 });

/**
 * Seed 003 (the rental dashboard): 3 s, 6 s, 12 s, then every 30 s for as long as it takes.
 * No jitter, so the schedule is exactly the seed's.
 */
export const seed003Backoff: Backoff = exponentialBackoff({ schedule: [3000, 6000, 12_000, 30_000], factor: 1, max: 30_000, jitter: 0 });

/** The default: 1 s doubling to 30 s, never giving up. */
export const defaultBackoff: Backoff = exponentialBackoff({ initial: 1000, factor: 2, max: 30_000 });
