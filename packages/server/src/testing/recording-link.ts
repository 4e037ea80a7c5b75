import type { PresenceUser } from '@herald/protocol';
import type { ClientLink, OutboundPublication } from '../core/outbound.js';
import type { Session } from '../core/session.js';
import type { StoredPublication } from '../engine.js';

/**
 * A ClientLink in memory for core tests: records what the core sends and how it closes the
 * connection, and reports the end to its session one turn later, as a socket's close event does.
 */
export class RecordingLink implements ClientLink {
  readonly transport = 'test';
  session: Session | undefined;
  /** Every publication sent, as the hub handed it over (one object for every link). */
  readonly sent: OutboundPublication[] = [];
  /** Channel state sent to a new subscriber (active signals), outside the stream. */
  readonly state: OutboundPublication[] = [];
  readonly joinLeaves: { kind: 'join' | 'leave'; channel: string; user: PresenceUser }[] = [];
  closedWith: { code: number; reason: string } | undefined;

  /** `queueLimit`: publications past it make the link report a slow reader, as ws-link does when its send queue is full. */
  constructor(private readonly queueLimit = Infinity) {}

  sendPublication(out: OutboundPublication): void {
    if (this.closedWith) return;
    if (this.sent.length >= this.queueLimit) {
      this.session?.tooSlow();
      return;
    }
    this.sent.push(out);
  }

  sendJoinLeave(kind: 'join' | 'leave', channel: string, user: PresenceUser): void {
    if (!this.closedWith) this.joinLeaves.push({ kind, channel, user });
  }

  sendState(out: OutboundPublication): void {
    if (!this.closedWith) this.state.push(out);
  }

  close(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    setImmediate(() => this.session?.closed(code));
  }

  /** The client goes away on its own. */
  disconnect(code = 1000): void {
    this.closedWith ??= { code, reason: 'client left' };
    this.session?.closed(code);
  }

  /** The publications sent, optionally of one channel. */
  publications(channel?: string): StoredPublication[] {
    const all = this.sent.map((o) => o.publication);
    return channel === undefined ? all : all.filter((p) => p.channel === channel);
  }

  /** The `data` of the channel's publications, in the order sent. */
  data(channel: string): unknown[] {
    return this.publications(channel).map((p) => p.data);
  }
}
