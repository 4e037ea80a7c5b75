import type { PresenceUser, RecoveryResult, StreamPosition } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { ResolvedRule } from '../core/channel-policy.js';
import { DISCONNECTS } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { OutboundPublication } from '../core/outbound.js';
import { planRecovery } from '../core/recovery.js';
import { Subscription, type Subscriber } from '../core/subscription.js';
import { channelKey } from '../engine.js';
import { AuditMatcher, type AuditFilter } from './filter.js';
import type { AuditRecord } from './records.js';

/** The reserved tenant and channel the records are published on: no token or API call can name either. */
export const AUDIT_TENANT = '$herald';
export const AUDIT_CHANNEL = '$audit';
export const AUDIT_KEY = channelKey(AUDIT_TENANT, AUDIT_CHANNEL);

const AUDIT_RULE: ResolvedRule = {
  rule: { pattern: AUDIT_CHANNEL, subscribe: 'none', publish: 'none', history: { size: 1, ttl: 0 }, presence: false, joinLeave: false, maxSubscribers: 0 },
  params: {},
  unmatched: false,
};

/** Where a (re)started stream begins: told to the reader before the replay. */
export interface AuditStart {
  filter: AuditFilter;
  /** The only tenant this reader sees, or null for an operator admin who sees every tenant. */
  scope: string | null;
  /** The position just before the replay: a reader cut before its first record resumes from here. */
  position: StreamPosition;
  /** For a resume: whether everything after the position could be replayed. */
  recovery?: RecoveryResult;
}

/** How a transport writes to one audit reader. */
export interface AuditLink {
  readonly transport: string;
  sendStart(start: AuditStart): void;
  /** Writes one record (encoded once per format for every reader); tells `reader.tooSlow()` when its queue is full. */
  sendRecord(out: OutboundPublication): void;
  close(code: number, reason: string): void;
}

/**
 * One admin reading the feed, whatever the transport: a subscription to the audit channel that
 * replays the kept records (all of them, or those after a resume position), then goes live, and
 * passes on what its scope and filter match.
 */
export class AuditReader implements Subscriber {
  private sub: Subscription | undefined;
  private matcher: AuditMatcher;
  isClosed = false;

  constructor(
    private readonly node: Node,
    readonly identity: Identity,
    readonly link: AuditLink,
    /** See AuditStart.scope (undefined: every tenant). */
    private readonly scope: string | undefined,
    private readonly onGone: (reader: AuditReader, slow: boolean) => void,
  ) {
    this.matcher = new AuditMatcher({}, scope);
  }

  /**
   * Starts, or restarts with a new filter, the stream: the kept records after `since` when
   * given (the start's `recovery` says what is missing), else every kept record; then live ones.
   */
  async start(filter: AuditFilter, since?: StreamPosition): Promise<void> {
    if (this.sub) this.node.detach(this.sub);
    const sub = new Subscription(this, AUDIT_CHANNEL, AUDIT_KEY, AUDIT_RULE, false);
    this.sub = sub;
    this.matcher = new AuditMatcher(filter, this.scope);
    await this.node.attach(sub);
    // The whole kept history (bounded by audit.history.size): a late joiner gets all of it.
    const page = await this.node.history(AUDIT_KEY, {});
    if (this.sub !== sub || this.isClosed) return;
    const plan = since ? planRecovery(since, page, true) : undefined;
    // Another epoch (the history was lost): what is kept now is all there is to give.
    const kept = plan && plan.result.reason !== 'epoch_changed' ? plan.replay : page.publications;
    // Filtered here, so that `replayed` counts what the reader gets.
    const replay = kept.filter((p) => this.matcher.matches(p.data as AuditRecord));
    const position = plan?.offset ?? page.offset;
    this.link.sendStart({
      filter,
      scope: this.scope ?? null,
      position: { epoch: page.epoch, offset: replay[0] ? replay[0].offset - 1 : position },
      ...(plan ? { recovery: { ...plan.result, replayed: replay.length } } : {}),
    });
    sub.goLive(replay.map((p) => new OutboundPublication(p)), position, page.epoch);
  }

  /** See Subscriber: a record the reader's scope and filter match goes out. */
  send(out: OutboundPublication): void {
    if (!this.isClosed && this.matcher.matches(out.publication.data as AuditRecord)) this.link.sendRecord(out);
  }

  sendJoinLeave(_kind: 'join' | 'leave', _channel: string, _user: PresenceUser): void {
    // The audit channel keeps no presence.
  }

  /** See Subscriber: closed before its queue grows without bound. */
  tooSlow(): void {
    if (this.isClosed) return;
    this.node.events.emit('denial', { reason: 'slow_consumer', transport: this.link.transport, tenant: this.identity.tenant, userId: this.identity.userId, path: 'audit' });
    this.end(true);
    this.link.close(DISCONNECTS.slowConsumer.close, DISCONNECTS.slowConsumer.reason);
  }

  /** See Subscriber: the feed cannot be repaired; the reader reconnects and resumes. */
  resync(reason: string): void {
    this.close(DISCONNECTS.shutdown.close, reason);
  }

  close(code: number, reason: string): void {
    this.link.close(code, reason);
    this.closed();
  }

  /** The connection ended. */
  closed(): void {
    this.end(false);
  }

  private end(slow: boolean): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.sub) this.node.detach(this.sub);
    this.sub = undefined;
    this.onGone(this, slow);
  }
}
