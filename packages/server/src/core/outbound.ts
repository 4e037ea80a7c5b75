import type { PresenceUser } from '@herald/protocol';
import type { StoredPublication } from '../engine.js';

/** How a transport turns a publication into bytes. One instance per format, shared by all its links. */
export interface WireFormat<T = string | Buffer> {
  readonly name: string;
  encode(publication: StoredPublication): T;
}

/**
 * A publication on its way to many connections. Each wire format encodes it once, on first use;
 * every other connection with that format gets the same string or buffer.
 */
export class OutboundPublication {
  private firstFormat: WireFormat<unknown> | undefined;
  private firstEncoded: unknown;
  private others: Map<WireFormat<unknown>, unknown> | undefined;

  constructor(readonly publication: StoredPublication) {}

  encoded<T>(format: WireFormat<T>): T {
    if (this.firstFormat === format) return this.firstEncoded as T;
    if (this.firstFormat === undefined) {
      this.firstFormat = format;
      return (this.firstEncoded = format.encode(this.publication));
    }
    let value = (this.others ??= new Map()).get(format) as T | undefined;
    if (value === undefined) this.others.set(format, (value = format.encode(this.publication)));
    return value;
  }
}

/**
 * The hub's view of one client connection. Transports implement it; the hub never sees sockets.
 */
export interface ClientLink {
  /** `websocket`, `socketio` or `sse`: for stats, metrics and logs. */
  readonly transport: string;
  /** Sends a publication, encoded through `out.encoded(format)`. Drops it if the link is closed. */
  sendPublication(out: OutboundPublication): void;
  sendJoinLeave(kind: 'join' | 'leave', channel: string, user: PresenceUser): void;
  /**
   * Sends a publication that is part of a channel's current state (a signal started and not yet
   * ended) to a new subscriber, in the channel's publication shape but outside its stream: it
   * moves no position or cursor, and may be older than what the subscriber has.
   */
  sendState(out: OutboundPublication): void;
  /** Closes the connection; the transport then calls `Session.closed()`. */
  close(code: number, reason: string): void;
}
