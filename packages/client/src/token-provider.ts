/** A token, or a callback that fetches a fresh one (called at every connect and before expiry). */
export type TokenSource = string | (() => string | Promise<string>);

/** How long before expiry a refresh starts: `lead`, but never more than a quarter of the time left. */
export function refreshDelay(expiresAt: number, now: number, lead: number): number {
  const left = expiresAt - now;
  return Math.max(0, left - Math.min(lead, left / 4));
}

/**
 * Supplies tokens and keeps the connection's token fresh: before it expires, a new one is
 * fetched from the callback and sent in band (`refresh`), so the connection stays as it is.
 */
export class TokenProvider {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly source: TokenSource,
    /** How long before expiry to refresh, in ms. */
    private readonly lead = 30_000,
  ) {}

  /** Whether new tokens can be had: false for a fixed string. */
  get refreshable(): boolean {
    return typeof this.source === 'function';
  }

  async get(): Promise<string> {
    const token = typeof this.source === 'function' ? await this.source() : this.source;
    if (typeof token !== 'string' || token.length === 0) throw new TypeError('the token provider returned no token');
    return token;
  }

  /** Runs `refresh` ahead of `expiresAt` (ms since epoch). Replaces any earlier schedule. */
  schedule(expiresAt: number, refresh: () => void, now = Date.now()): void {
    this.cancel();
    if (!this.refreshable) return;
    this.timer = setTimeout(refresh, refreshDelay(expiresAt, now, this.lead));
  }

  /** Tries again after a failed refresh: halfway to expiry, at most 5 s on. */
  retry(expiresAt: number, refresh: () => void, now = Date.now()): void {
    this.cancel();
    const left = expiresAt - now;
    if (left <= 0 || !this.refreshable) return;
    this.timer = setTimeout(refresh, Math.min(5000, left / 2));
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
