import type { NotRecoveredReason, Publication, RecoverySince, SubscribeResult } from '@herald/protocol';
import type { Cursor } from './dedup.js';
import { Emitter } from './emitter.js';
import type { HeraldError } from './errors.js';
import { PresenceList } from './presence.js';

/** Event names to the type of their `data`. */
export type EventMap = Record<string, unknown>;

/** A publication of any event of the map, narrowed by `event`. */
export type EventPublication<E extends EventMap> = { [K in keyof E & string]: Publication<E[K]> & { event: K } }[keyof E & string];

/**
 * Publications that could not be replayed after a resubscribe: the app should refetch the
 * channel's state. `missing` is the offset range lost, when the server knows it.
 */
export interface Gap {
  channel: string;
  reason?: NotRecoveredReason;
  missing?: { from: number; to: number };
  /** Where the client had stopped. */
  previous?: Cursor;
  /** The stream's position now; delivery goes on from here. */
  epoch: string;
  offset: number;
}

/**
 * - `pending`: waiting to be (re)subscribed, e.g. while the link is down, or retrying on the
 *   client's backoff after the server answered `unavailable` (its engine is down or failing over).
 * - `subscribed`: live.
 * - `failed`: the server refused (see the `error` event); not retried until `resubscribe()`.
 * - `unsubscribed`: ended by the app.
 */
export type SubscriptionStatus = 'pending' | 'subscribed' | 'failed' | 'unsubscribed';

interface SubscriptionEvents<E extends EventMap> {
  publication: EventPublication<E>;
  subscribed: SubscribeResult;
  gap: Gap;
  error: HeraldError;
}

/** What a subscription needs from its client. */
export interface SubscriptionHost {
  /** Whether this channel's publication key is new (records it). */
  firstSeen(channel: string, id: string): boolean;
  saveCursor(channel: string, cursor: Cursor): void;
  unsubscribe(channel: string): Promise<void>;
  resubscribe(channel: string): void;
}

/**
 * One channel, across reconnects: remembers where it stopped, resubscribes from there, drops
 * anything already delivered (by offset and by id) and reports what could not be recovered.
 */
export class ChannelSubscription<E extends EventMap = EventMap> {
  status: SubscriptionStatus = 'pending';
  /** Where delivery stopped; resubscribes resume after it. */
  position: Cursor | undefined;
  /** Live presence, when subscribed with `presence: true`. */
  readonly presence: PresenceList | undefined;
  private readonly events = new Emitter<SubscriptionEvents<E>>();
  private readonly byEvent = new Emitter<{ [K in keyof E & string]: Publication<E[K]> }>();

  constructor(
    readonly channel: string,
    private readonly host: SubscriptionHost,
    options: { presence?: boolean; since?: Cursor } = {},
  ) {
    this.position = options.since;
    this.presence = options.presence ? new PresenceList() : undefined;
  }

  /** Handles one event of this channel: `handler(data, publication)`. Returns a function that removes it. */
  on<K extends keyof E & string>(event: K, handler: (data: E[K], publication: Publication<E[K]>) => void): () => void {
    return this.byEvent.on(event, (publication) => handler(publication.data, publication));
  }

  /** Handles every publication of this channel, in order. */
  onPublication(handler: (publication: EventPublication<E>) => void): () => void {
    return this.events.on('publication', handler);
  }

  /** Publications were lost and cannot be replayed: refetch the state this channel feeds. */
  onGap(handler: (gap: Gap) => void): () => void {
    return this.events.on('gap', handler);
  }

  /** The server accepted a (re)subscribe; `result.recovery` says what was replayed. */
  onSubscribed(handler: (result: SubscribeResult) => void): () => void {
    return this.events.on('subscribed', handler);
  }

  /** The server refused the subscription. */
  onError(handler: (err: HeraldError) => void): () => void {
    return this.events.on('error', handler);
  }

  unsubscribe(): Promise<void> {
    return this.host.unsubscribe(this.channel);
  }

  /** Tries again after a refusal (e.g. once permissions changed). */
  resubscribe(): void {
    this.host.resubscribe(this.channel);
  }

  /** @internal Where to resume from. */
  since(): RecoverySince | undefined {
    const p = this.position;
    return p ? { offset: p.offset, epoch: p.epoch } : undefined;
  }

  /** @internal The subscribe reply; returns the gap to report, if any. Runs before the replay is handled. */
  subscribed(result: SubscribeResult): Gap | undefined {
    this.status = 'subscribed';
    const previous = this.position;
    const recovery = result.recovery;
    let gap: Gap | undefined;
    if (!previous || !recovery) {
      this.position = { epoch: result.epoch, offset: result.offset };
    } else if (!recovery.recovered) {
      gap = {
        channel: this.channel,
        ...(recovery.reason ? { reason: recovery.reason } : {}),
        ...(recovery.missing ? { missing: recovery.missing } : {}),
        previous,
        epoch: result.epoch,
        offset: result.offset,
      };
      // A partial replay follows the missing range; otherwise go on from the stream's end.
      const resumeAt = recovery.replayed > 0 && recovery.missing && result.epoch === previous.epoch ? recovery.missing.to : result.offset;
      this.position = { epoch: result.epoch, offset: resumeAt };
    }
    if (this.position) this.host.saveCursor(this.channel, this.position);
    this.events.emit('subscribed', result);
    if (gap) this.events.emit('gap', gap);
    return gap;
  }

  /** @internal A gap reported from elsewhere (the parent page, for an iframe): go on from where it says. */
  reportGap(gap: Gap): void {
    this.position = { epoch: gap.epoch, offset: gap.offset };
    this.events.emit('gap', gap);
  }

  /** @internal A publication for this channel; delivered unless it was already. Returns whether it was. */
  receive(publication: Publication): boolean {
    const p = this.position;
    if (p && publication.epoch === p.epoch && publication.offset <= p.offset) return false;
    if (!this.host.firstSeen(this.channel, publication.id)) return false;
    this.position = { epoch: publication.epoch, offset: publication.offset, lastId: publication.id };
    this.host.saveCursor(this.channel, this.position);
    const typed = publication as EventPublication<E>;
    this.events.emit('publication', typed);
    this.byEvent.emit(typed.event, typed as never);
    return true;
  }

  /**
   * @internal Part of the channel's current state, sent after the subscribe (a signal someone
   * started and has not ended): delivered to the handlers, though older than the position,
   * which it leaves as it is.
   */
  receiveState(publication: Publication): void {
    const typed = publication as EventPublication<E>;
    this.events.emit('publication', typed);
    this.byEvent.emit(typed.event, typed as never);
  }

  /** @internal */
  failed(err: HeraldError): void {
    this.status = 'failed';
    this.events.emit('error', err);
  }
}
