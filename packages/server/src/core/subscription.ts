import type { PresenceUser } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { ChannelKey, StoredPublication } from '../engine.js';
import { ChannelPolicy, type ResolvedRule } from './channel-policy.js';
import type { OutboundPublication } from './outbound.js';

/** What a subscription delivers to: one connection, as the hub and repairs see it. */
export interface Subscriber {
  readonly identity: Identity;
  /** The connection's id, for publications that leave out the connection that caused them. */
  readonly id?: string;
  /** Sends a publication to the connection (dropped if it is closed). */
  send(out: OutboundPublication): void;
  sendJoinLeave(kind: 'join' | 'leave', channel: string, user: PresenceUser): void;
  /** The connection cannot keep up: it is closed before its queue grows without bound. */
  tooSlow(): void;
  /** Delivery to the connection cannot be repaired: it is closed to reconnect and recover on its own. */
  resync(reason: string): void;
}

/**
 * Who a subscription is in a channel's presence when that is not the connection's identity: a
 * member the app vouched for on this channel alone (a signed subscribe, as the Pusher protocol has).
 */
export interface PresenceMember {
  userId: string;
  info?: Record<string, unknown>;
}

/** Whether the publication leaves out this connection (see Audience.exceptConnections). */
function excepted(publication: StoredPublication, subscriber: Subscriber): boolean {
  return subscriber.id !== undefined && publication.audience?.exceptConnections?.includes(subscriber.id) === true;
}

/** Live publications held while a subscription's replay is prepared; past this the client is too slow. */
const MAX_PENDING = 10_000;

/** Whether a publication's audience and the channel's event roles let this identity receive it. */
export function audienceAllows(publication: StoredPublication, rule: ResolvedRule, identity: Identity): boolean {
  const audience = publication.audience;
  // Absent fields do not narrow; present ones admit whoever matches either.
  if (audience && (audience.users !== undefined || audience.roles !== undefined)) {
    const byUser = audience.users?.includes(identity.userId) ?? false;
    const byRole = audience.roles?.some((r) => identity.roles.includes(r)) ?? false;
    if (!byUser && !byRole) return false;
  }
  return rule.rule.eventRoles === undefined || ChannelPolicy.eventAllowed(rule.rule, publication.event, identity.roles);
}

/**
 * One connection's subscription to one channel. While `pending` (between registering with the
 * hub and sending the subscribe reply plus replay) live publications are buffered, so none is
 * lost or sent out of order. Once live it remembers the stream position it has reached, so a
 * publication that comes twice (live after a replay, or from a repair) is sent once.
 */
export class Subscription {
  pending = true;
  /** The epoch of `offset`; undefined until the subscription knows its stream. */
  epoch: string | undefined;
  /** The last offset sent (or skipped by audience), or the position the subscription went live at. */
  offset = 0;
  /**
   * Whether joins and leaves reach the subscriber while it is pending (they are dropped
   * otherwise): for a transport that sends a member list first and orders them after it.
   */
  joinsWhilePending = false;
  /** Live publications held while pending; made on the first, gone once live. */
  private buffer: OutboundPublication[] | undefined;

  constructor(
    readonly subscriber: Subscriber,
    readonly channel: string,
    readonly key: ChannelKey,
    readonly rule: ResolvedRule,
    /** Whether this subscription is counted in the engine's presence. */
    readonly tracked: boolean,
    /** Skip publications about the connection's own user (`user:online` / `user:offline` go to the others). */
    private readonly skipOwnUser = false,
    /** See PresenceMember; absent when the connection's identity is its presence. */
    readonly member?: PresenceMember,
  ) {}

  deliver(out: OutboundPublication): boolean {
    const publication = out.publication;
    if (!this.pending && !this.advance(publication)) return false;
    if (!out.openTo(this.rule.rule)) {
      if (!audienceAllows(publication, this.rule, this.subscriber.identity)) return false;
      if (publication.audience && excepted(publication, this.subscriber)) return false;
    }
    if (this.skipOwnUser && (publication.data as { userId?: unknown } | null)?.userId === this.subscriber.identity.userId) return false;
    if (this.pending) {
      const buffer = (this.buffer ??= []);
      buffer.push(out);
      if (buffer.length > MAX_PENDING) this.subscriber.tooSlow();
      return true;
    }
    this.subscriber.send(out);
    return true;
  }

  /** Ends the pending phase: sends the replay, then what arrived meanwhile past the replay. */
  goLive(replay: OutboundPublication[], position: number, epoch?: string): void {
    for (const out of this.takeLive(replay, position, epoch)) this.subscriber.send(out);
  }

  /**
   * Ends the pending phase without sending: returns the replay the identity may see, then what
   * arrived meanwhile past the position. For callers that merge several subscriptions in order.
   * `position` (in `epoch`) is where the replay ends.
   */
  takeLive(replay: OutboundPublication[], position: number, epoch?: string): OutboundPublication[] {
    const out = replay.filter((o) => audienceAllows(o.publication, this.rule, this.subscriber.identity) && !excepted(o.publication, this.subscriber));
    const held = this.buffer;
    this.buffer = undefined;
    this.pending = false;
    this.epoch = epoch;
    this.offset = position;
    // Held publications at or below the position are in the replay or before the client's position;
    // per-key ordering means everything arriving from now on is above it.
    if (held) for (const o of held) if (o.publication.offset > position && this.advance(o.publication)) out.push(o);
    return out;
  }

  /** The user this subscription is in the channel's presence as. */
  get memberId(): string {
    return this.member?.userId ?? this.subscriber.identity.userId;
  }

  /**
   * The offset after which a repair must deliver (see Hub.onResumed), or undefined when the
   * subscription has no position in `epoch` to repair from.
   */
  repairFrom(epoch: string): number | undefined {
    if (this.pending) {
      // Pub/sub keeps a key's order: whatever was missed comes after the last buffered one.
      const last = this.buffer?.at(-1)?.publication;
      return last && last.epoch === epoch ? last.offset : 0;
    }
    return this.epoch === epoch ? this.offset : undefined;
  }

  /** Moves the position to the publication; false when it is not past the position (a repeat). */
  private advance(publication: StoredPublication): boolean {
    if (publication.epoch === this.epoch && publication.offset <= this.offset) return false;
    this.epoch = publication.epoch;
    this.offset = publication.offset;
    return true;
  }

}
