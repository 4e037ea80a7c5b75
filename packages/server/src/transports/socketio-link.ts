import { CloseCode, dataWithPublisher, type PresenceUser, type StreamPosition } from '@herald/protocol';
import type { Socket } from 'socket.io';
import { Encoder, PacketType } from 'socket.io-parser';
import type { ClientLink, OutboundPublication, WireFormat } from '../core/outbound.js';
import type { Session } from '../core/session.js';
import type { RoomRecord } from './socketio-adapter.js';
import { encodeCursor } from './stream-cursor.js';
import { corkForTurn, socketOfWebSocket } from './turn-writes.js';
import { firstFragment, lastFragment, preFraming, textFrame, writeFramesInOrder } from './ws-frames.js';

/** Event names socket.io keeps for itself; a publication with one of them is not delivered to Socket.IO clients. */
export const RESERVED_EVENTS = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

const encoder = new Encoder();

/** A publication as a Socket.IO EVENT packet of one namespace, encoded once for every socket. */
export interface EncodedPackets {
  /**
   * The packet, or with a cursor the packet without its closing `]`: each socket appends its
   * own cursor as the last argument.
   */
  packet: string;
  /** The WebSocket frame of `4` + packet (engine.io's message type): whole, or the first fragment with a cursor. */
  frame: Buffer | undefined;
  /** Without a cursor, `[frame]`: the list engine.io and `ws` take, shared rather than made per socket. */
  frames?: Buffer[];
  /**
   * With a cursor: the whole packet and frames for a socket whose one room is the publication's
   * channel, the commonest case. Its cursor is the publication's own position, the same for every
   * such socket, so they share these too.
   */
  sole?: { data: string; frames: Buffer[] | undefined };
}

/** The end of an event with a cursor: `,"<cursor>"]`. Cursors need no JSON escaping. */
const cursorEnd = (cursor: string): string => `,"${cursor}"]`;

/**
 * A publication as a Socket.IO EVENT packet of one namespace: `[event, data]`, and with
 * connection state recovery `[event, data, id, cursor]`. socket.io-client keeps the last string
 * argument as its recovery offset; the cursor there is every room's position, so a socket that
 * comes back resumes each room exactly where it stopped (see SocketIoLink). Everything but the
 * cursor is encoded and framed once per namespace, as socket.io's own adapter does for a broadcast.
 */
export function socketIoFormat(nsp: string, withCursor: boolean): WireFormat<EncodedPackets> & { withCursor: boolean } {
  return {
    name: `socketio${nsp}`,
    withCursor,
    encode: (p) => {
      const [encoded] = encoder.encode({ type: PacketType.EVENT, nsp, data: withCursor ? [p.event, dataWithPublisher(p), p.id] : [p.event, dataWithPublisher(p)] }) as string[];
      const packet = withCursor ? encoded.slice(0, -1) : encoded;
      const payload = preFraming ? Buffer.from(`4${packet}`) : undefined;
      if (!withCursor) {
        const frame = payload && textFrame(payload);
        return { packet, frame, frames: frame && [frame] };
      }
      const frame = payload && firstFragment(payload);
      const end = cursorEnd(encodeCursor([p]));
      return { packet, frame, sole: { data: packet + end, frames: frame && [frame, lastFragment(end)] } };
    },
  };
}

/** How many recent publication ids a link remembers to deliver a multi-channel publish once. */
const RECENT_IDS = 16;
const WS_CLOSED = 3;
/** How long a socket being closed may take to say goodbye before its transport is cut. */
const CLOSE_GRACE_MS = 2000;

interface EnginePacket {
  data?: string | Buffer;
  options?: { wsPreEncodedFrame?: Buffer[] };
}

/** A room's position as sent, with where its subscription started. */
interface RoomPosition extends StreamPosition {
  readonly start: StreamPosition;
}

/** Bytes a packet will take on the wire, near enough for a queue bound. */
function packetBytes(packet: EnginePacket): number {
  const frames = packet.options?.wsPreEncodedFrame;
  if (frames) return frames.reduce((n, f) => n + f.length, 0);
  const data = packet.data;
  return typeof data === 'string' ? data.length : (data?.byteLength ?? 0);
}

/** The engine.io connection under a socket, as far as the link needs it (socket.io does not type these). */
interface EngineConnection {
  readyState: string;
  /** Packets engine.io holds until its transport is writable again. */
  writeBuffer: unknown[];
  transport: { name: string; socket?: { readyState?: number; bufferedAmount?: number; terminate?(): void } };
  on(event: 'packetCreate', listener: (packet: EnginePacket) => void): void;
  on(event: 'flush', listener: () => void): void;
  close(discard?: boolean): void;
}

/**
 * A socket.io socket as the hub sees it. It keeps the position it has sent of every room, and
 * with recovery on sends them as the cursor of each event. What waits to be written (engine.io's
 * queued packets and the WebSocket's buffered bytes) is counted in bytes: a reader that stops
 * reading is closed once it passes the send-queue limit, on WebSocket and long-polling alike.
 */
export class SocketIoLink implements ClientLink {
  readonly transport = 'socketio';
  session: Session | undefined;
  /** Ids of the last publications sent, once the socket is in more than one room. */
  private recent: string[] | undefined;
  /** Each room's position as sent so far, and where its subscription started (what a restore falls back to for a room the cursor does not hold). */
  private readonly positions = new Map<string, RoomPosition>();
  private readonly conn: EngineConnection;
  /** Bytes of the packets in engine.io's write buffer, not yet handed to the transport. */
  private queued = 0;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly format: WireFormat<EncodedPackets> & { withCursor: boolean },
    private readonly sendQueueBytes: number,
  ) {
    this.conn = socket.conn as unknown as EngineConnection;
    this.conn.on('packetCreate', (packet) => (this.queued += packetBytes(packet)));
    // engine.io hands its whole write buffer to the transport at once: on WebSocket, in one write
    // at the end of the turn (long-polling answers a poll with one response anyway).
    this.conn.on('flush', () => {
      this.queued = 0;
      corkForTurn(socketOfWebSocket(this.conn.transport.socket));
    });
  }

  /** Sets a room's position before anything of it is sent: where its subscription (or its replay) starts. */
  startRoom(channel: string, start: StreamPosition): void {
    this.positions.set(channel, { epoch: start.epoch, offset: start.offset, start });
  }

  leaveRoom(channel: string): void {
    this.positions.delete(channel);
  }

  /** The rooms and where they started, for the socket's resumable record. */
  rooms(): RoomRecord[] {
    return [...this.positions].map(([channel, { start }]) => ({ channel, epoch: start.epoch, offset: start.offset }));
  }

  /** Every room's position as sent so far: what the client holds once it has read everything sent. */
  cursor(): string {
    return encodeCursor(this.positions.values());
  }

  sendPublication(out: OutboundPublication): void {
    const p = out.publication;
    if (this.closed) return;
    const room = this.positions.get(p.channel);
    if (room) {
      // The link's own copy (see startRoom): moved in place, not replaced per delivery.
      room.epoch = p.epoch;
      room.offset = p.offset;
    }
    if (RESERVED_EVENTS.has(p.event)) return;
    // A publish to several channels this socket is in arrives once per channel with one id;
    // a socket in one channel cannot get it twice, and skips the check.
    if (this.positions.size > 1) {
      const recent = (this.recent ??= []);
      if (recent.includes(p.id)) return;
      recent.push(p.id);
      if (recent.length > RECENT_IDS) recent.shift();
    }
    if (this.backlog() > this.sendQueueBytes) {
      if (this.session) this.session.tooSlow();
      else this.close(CloseCode.SlowConsumer, 'slow consumer: send queue full');
      return;
    }
    const encoded = out.encoded(this.format);
    let data = encoded.packet;
    let frames = encoded.frames;
    if (encoded.sole && room && this.positions.size === 1) ({ data, frames } = encoded.sole);
    else if (this.format.withCursor) {
      const end = cursorEnd(this.cursor());
      data += end;
      if (encoded.frame) frames = [encoded.frame, lastFragment(end)];
    }
    if (frames && this.writeDirect(frames)) return;
    // writeToEngine is how socket.io's own adapter sends a pre-encoded broadcast packet.
    (this.socket.client as unknown as { writeToEngine(packets: string[], opts: object): void }).writeToEngine([data], frames ? { wsPreEncodedFrame: frames } : {});
  }

  /**
   * Writes the frames straight to the WebSocket when engine.io holds no packet back: what it
   * sent before is already in the socket, so order is kept, and the per-packet work of engine.io
   * (a packet object, its events, a flush, a send callback) is skipped for each delivery. The
   * bytes still count in the WebSocket's buffered amount, so the send-queue bound holds.
   */
  private writeDirect(frames: Buffer[]): boolean {
    const conn = this.conn;
    if (conn.readyState !== 'open' || conn.writeBuffer.length > 0 || conn.transport.name !== 'websocket') return false;
    const ws = conn.transport.socket;
    corkForTurn(socketOfWebSocket(ws));
    return writeFramesInOrder(ws, frames);
  }

  /**
   * See ClientLink: the event as any other, but with the socket's current cursor, so that
   * socket.io-client's recovery offset stays where it is.
   */
  sendState(out: OutboundPublication): void {
    const p = out.publication;
    if (this.closed || RESERVED_EVENTS.has(p.event)) return;
    this.socket.emit(p.event, dataWithPublisher(p), ...(this.format.withCursor ? [p.id, this.cursor()] : []));
  }

  sendJoinLeave(kind: 'join' | 'leave', channel: string, user: PresenceUser): void {
    if (!this.closed) this.socket.emit(kind === 'join' ? 'presence:join' : 'presence:leave', { channel, user });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (code === CloseCode.ServiceRestart) {
      // Closing the transport (not the socket) makes socket.io-client reconnect, as after a restart.
      this.conn.close();
    } else {
      this.socket.emit('error', { code, message: reason });
      this.socket.disconnect(true);
    }
    // engine.io closes only once its write buffer has drained (or, on long-polling, once the next
    // poll comes), which a reader that stopped reading never lets happen: cut it after a grace
    // period, so its memory is freed and a shutdown is not held up.
    setTimeout(() => this.cut(), CLOSE_GRACE_MS).unref();
  }

  /**
   * Closes the transport after an `error` event, so that the client reconnects with its backoff
   * (a server disconnect would stop socket.io-client for good): for refusals worth retrying.
   */
  closeTransport(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.close();
    setTimeout(() => this.cut(), CLOSE_GRACE_MS).unref();
  }

  private cut(): void {
    // engine.io may count the connection closed while its WebSocket still waits for a close
    // handshake the peer will never read: terminate that one too.
    const ws = this.conn.transport.socket;
    if (ws && ws.readyState !== WS_CLOSED) ws.terminate?.();
    if (this.conn.readyState !== 'closed') this.conn.close(true);
  }

  /** Bytes waiting to be sent: engine.io's queued packets plus what the WebSocket has buffered. */
  private backlog(): number {
    return this.queued + (this.conn.transport.socket?.bufferedAmount ?? 0);
  }
}
