import type { Publication, SubscribeResult } from '@herald/protocol';
import type { ConnectionState } from './connection-state.js';
import type { Gap } from './subscription.js';

/** Marks Herald's postMessage traffic, so other messages on the window are left alone. */
export const BRIDGE_TAG = 'herald-bridge/1';

/** What the parent page sends an iframe. */
export type ParentMessageBody =
  | { kind: 'hello' }
  | { kind: 'welcome'; state: ConnectionState }
  | { kind: 'status'; state: ConnectionState }
  | { kind: 'subscribed'; channel: string; result: SubscribeResult }
  | { kind: 'pub'; publication: Publication }
  | { kind: 'gap'; gap: Gap }
  | { kind: 'reply'; id: number; result?: unknown; error?: { code: string; message: string } };

/** What an iframe sends the parent page. */
export type FrameMessageBody =
  /** `session` is new with every load of the iframe's page. */
  | { kind: 'hello'; session: string }
  | { kind: 'subscribe'; id: number; channel: string }
  | { kind: 'unsubscribe'; channel: string }
  | { kind: 'publish'; id: number; channel: string; event: string; data: unknown; idempotencyKey?: string };

export type ParentMessage = ParentMessageBody & { tag: typeof BRIDGE_TAG };
export type FrameMessage = FrameMessageBody & { tag: typeof BRIDGE_TAG };

export function isBridgeMessage(value: unknown): value is { tag: typeof BRIDGE_TAG; kind: string } {
  return typeof value === 'object' && value !== null && (value as { tag?: unknown }).tag === BRIDGE_TAG && typeof (value as { kind?: unknown }).kind === 'string';
}

/** An origin to post to and accept from: exact, never `*`, which would hand events to any page. */
export function strictOrigin(origin: string, option: string): string {
  if (origin === '*' || origin === '' || origin === 'null') throw new TypeError(`${option} must be an exact origin such as https://app.example.com, not ${JSON.stringify(origin)}`);
  return new URL(origin).origin;
}

/** Whether a channel matches one of the patterns: an exact name, or a prefix ending in `*`. */
export function channelAllowed(patterns: readonly string[], channel: string): boolean {
  return patterns.some((p) => p === channel || (p.endsWith('*') && channel.startsWith(p.slice(0, -1))));
}
