import type { ConnectionRef } from './events.js';

/** A client publication before it is stored: what a publish guard decides on. */
export interface ClientPublication {
  connection: ConnectionRef;
  /** Display info from the client's token. */
  info: Record<string, unknown>;
  channel: string;
  event: string;
  data: unknown;
}

/**
 * What happens to a client publication: stored as sent, refused (the client gets `forbidden`
 * with the reason), refused because no decision could be had (`unavailable`, worth a retry), or
 * stored with other data.
 */
export type PublishVerdict =
  | { action: 'allow' }
  | { action: 'refuse'; reason: string }
  | { action: 'unchecked'; reason: string }
  | { action: 'rewrite'; data: unknown };

/**
 * Decides on client publications before they are stored (the backend's publish proxy, see
 * webhooks/publish-proxy.ts). `check` must settle within a bounded time and never reject.
 */
export interface PublishGuard {
  check(publication: ClientPublication): Promise<PublishVerdict>;
}
