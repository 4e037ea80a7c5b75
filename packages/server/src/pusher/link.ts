import type { PresenceUser } from '@herald/protocol';
import type { WebSocket } from 'ws';
import type { OutboundPublication } from '../core/outbound.js';
import { WebSocketLink } from '../transports/ws-link.js';
import { pusherCloseCode, PusherCode } from './codes.js';
import { pusherFormat } from './format.js';
import { serverFrame } from './frames.js';

/** What the connection's protocol does with a presence change the hub delivers. */
export type MemberListener = (kind: 'join' | 'leave', channel: string, user: PresenceUser) => void;

/**
 * A Pusher client's `ws` socket: the WebSocket link with Pusher's event format, presence
 * changes handed to the connection's protocol, and closes told in Pusher's codes.
 */
export class PusherLink extends WebSocketLink {
  override readonly transport: string = 'pusher';
  onMember: MemberListener | undefined;

  constructor(ws: WebSocket, sendQueueBytes: number) {
    // No native control frames (`$` channels, joins) and no app-level ping frames: Pusher has its own.
    super(ws, pusherFormat, sendQueueBytes, false, false);
  }

  /** A channel's current state (an active signal) goes out like any of its events. */
  override sendState(out: OutboundPublication): void {
    this.sendRaw(out.encoded(pusherFormat));
  }

  override sendJoinLeave(kind: 'join' | 'leave', channel: string, user: PresenceUser): void {
    this.onMember?.(kind, channel, user);
  }

  /** See ClientLink: a close the core decides, told as `pusher:error` and closed with Pusher's code for it. */
  override close(code: number, reason: string): void {
    this.closeWith(pusherCloseCode(code), reason);
  }

  /** Tells the client why in a `pusher:error`, then closes with that Pusher code. */
  closeWith(pusherCode: number, message: string): void {
    if (this.open) this.sendRaw(serverFrame('pusher:error', { code: pusherCode, message }));
    super.close(pusherCode, message);
  }

  /** See Beating: no answer to the last ping in time. */
  override dead(): void {
    this.closeWith(PusherCode.PongNotReceived, 'Pong reply not received');
  }
}
