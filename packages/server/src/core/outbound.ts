import type { PresenceUser } from '@herald/protocol';
import type { ChannelRuleConfig } from '../config/schema.js';
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
  /** Whether it is on one of Herald's own `$` channels (user:online / user:offline), which `data` clients never get. */
  readonly ownChannel: boolean;
  private firstFormat: WireFormat<unknown> | undefined;
  private firstEncoded: unknown;
  private others: Map<WireFormat<unknown>, unknown> | undefined;
  /** The rule `openTo` last answered for, and its answer: a channel's subscribers nearly all share one rule. */
  private lastRule: ChannelRuleConfig | undefined;
  private lastOpen = false;

  constructor(readonly publication: StoredPublication) {
    this.ownChannel = publication.channel.startsWith('$');
  }

  /**
   * Whether every subscriber under this rule may receive it, whoever they are: no audience and
   * no `eventRoles` entry for its event. Decided once per publication per rule, so that only
   * narrowed publications are checked subscriber by subscriber (see audienceAllows).
   */
  openTo(rule: ChannelRuleConfig): boolean {
    if (rule !== this.lastRule) {
      this.lastRule = rule;
      this.lastOpen = !this.publication.audience && rule.eventRoles?.[this.publication.event] === undefined;
    }
    return this.lastOpen;
  }

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
