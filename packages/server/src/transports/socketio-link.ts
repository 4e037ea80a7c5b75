import { CloseCode, type PresenceUser } from '@herald/protocol';
import type { Socket } from 'socket.io';
import { Encoder, PacketType } from 'socket.io-parser';
import type { ClientLink, OutboundPublication, WireFormat } from '../core/outbound.js';
import type { Session } from '../core/session.js';
import { preFraming, textFrame } from './ws-frames.js';

/** Event names socket.io keeps for itself; a publication with one of them is not delivered to Socket.IO clients. */
export const RESERVED_EVENTS = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

const encoder = new Encoder();

/** Encoded Socket.IO packets and, for WebSocket transports, their finished frame. */
export interface EncodedPackets {
  packets: unknown[];
  /** engine.io writes `wsPreEncodedFrame` as-is to WebSocket transports instead of encoding per socket. */
  opts: { wsPreEncodedFrame?: Buffer[] };
}

/**
 * A publication as a Socket.IO EVENT packet of one namespace: `[event, data]`, plus the
 * publication id as the last argument when connection state recovery is on (socket.io-client
 * keeps it and sends it back as its offset). Encoded and framed once per namespace, as
 * socket.io's own adapter does for a broadcast.
 */
export function socketIoFormat(nsp: string, withOffset: boolean): WireFormat<EncodedPackets> {
  return {
    name: `socketio${nsp}`,
    encode: (p) => {
      const packets = encoder.encode({ type: PacketType.EVENT, nsp, data: withOffset ? [p.event, p.data, p.id] : [p.event, p.data] }) as unknown[];
      // "4" is engine.io's message packet type; one buffer makes one write per socket.
      const frame = preFraming && packets.length === 1 && typeof packets[0] === 'string' ? [textFrame(Buffer.from(`4${packets[0]}`))] : undefined;
      return { packets, opts: frame ? { wsPreEncodedFrame: frame } : {} };
    },
  };
}

/** How many recent publication ids a link remembers to deliver a multi-channel publish once. */
const RECENT_IDS = 16;

/** A socket.io socket as the hub sees it. */
export class SocketIoLink implements ClientLink {
  readonly transport = 'socketio';
  session: Session | undefined;
  private readonly recent: string[] = [];
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly format: WireFormat<EncodedPackets>,
    private readonly sendQueueBytes: number,
  ) {}

  sendPublication(out: OutboundPublication): void {
    const p = out.publication;
    if (this.closed || RESERVED_EVENTS.has(p.event)) return;
    // A publish to several channels this socket is in arrives once per channel with one id;
    // a socket in one channel cannot get it twice, and skips the check.
    if ((this.session?.subscriptions.size ?? 0) > 1) {
      if (this.recent.includes(p.id)) return;
      this.recent.push(p.id);
      if (this.recent.length > RECENT_IDS) this.recent.shift();
    }
    if (this.backlog() > this.sendQueueBytes) {
      this.session?.tooSlow();
      return;
    }
    // writeToEngine is how socket.io's own adapter sends a pre-encoded broadcast packet.
    const { packets, opts } = out.encoded(this.format);
    (this.socket.client as unknown as { writeToEngine(packets: unknown[], opts: object): void }).writeToEngine(packets, opts);
  }

  sendJoinLeave(kind: 'join' | 'leave', channel: string, user: PresenceUser): void {
    if (!this.closed) this.socket.emit(kind === 'join' ? 'presence:join' : 'presence:leave', { channel, user });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (code === CloseCode.ServiceRestart) {
      // Closing the transport (not the socket) makes socket.io-client reconnect, as after a restart.
      this.socket.conn.close();
      return;
    }
    this.socket.emit('error', { code, message: reason });
    this.socket.disconnect(true);
  }

  /** Bytes (WebSocket) or packets (long-polling) waiting to be sent. */
  private backlog(): number {
    const conn = this.socket.conn as unknown as { writeBuffer: unknown[]; transport: { socket?: { bufferedAmount?: number } } };
    const buffered = conn.transport.socket?.bufferedAmount ?? 0;
    // A packet of a publication is at least ~64 bytes; count queued packets at that.
    return Math.max(buffered, conn.writeBuffer.length * 64);
  }
}
