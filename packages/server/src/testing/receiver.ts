import type { HeraldFixture } from './herald-fixture.js';
import { waitFor } from './wait.js';

/** A publication as a client received it, whatever the transport. */
export interface Received {
  /** Undefined where the transport carries none: a Pusher event is its name, channel and data. */
  id: string | undefined;
  /** Undefined where the transport does not say: a Socket.IO event carries only the data. */
  channel: string | undefined;
  event: string;
  data: unknown;
  /** The publication's `publisher` stamp, where the transport sends it beside the data (native WebSocket, SSE). */
  publisher?: unknown;
}

/** A transport's own signal that what was missed cannot be replayed. */
export interface NotRecovered {
  channel?: string;
  reason: string;
}

/** How the server ended the connection, in the transport's terms (close code, disconnect reason). */
export interface Ending {
  code: number | string;
  reason?: string;
}

/** Where a receiver stopped, in its transport's terms; only the transport that made it reads it. */
export interface ResumePosition {
  readonly transport: string;
  readonly value: unknown;
}

/** A refused connection or subscription: `code` is the transport's (4001, 401, `forbidden`). */
export class Refusal extends Error {
  override name = 'Refusal';
  constructor(
    readonly code: number | string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One client of one transport, subscribed to some channels, recording every publication it is
 * given in order. `cut()` drops the connection without a goodbye; `resume()` comes back the way
 * that transport's stock client does.
 */
export interface Receiver {
  readonly transport: string;
  readonly received: Received[];
  readonly notRecovered: NotRecovered[];
  /** Resolves when the server ends the current connection. */
  ended(): Promise<Ending>;
  position(): ResumePosition;
  cut(): Promise<void>;
  /** Resolves once connected and subscribed again; the replay may still be arriving. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects a receiver with `token` to `channels`, continuing from `resumeFrom` when given.
 * Rejects with a Refusal when the token or a channel is refused.
 */
export type OpenReceiver = (herald: HeraldFixture, token: string, channels: string[], resumeFrom?: ResumePosition) => Promise<Receiver>;

/** Waits until a receiver holds at least `count` publications. */
export async function receivedAtLeast(receiver: Receiver, count: number, timeoutMs = 5000): Promise<Received[]> {
  await waitFor(() => receiver.received.length >= count, `${receiver.transport}: ${count} publications`, timeoutMs);
  return receiver.received;
}
