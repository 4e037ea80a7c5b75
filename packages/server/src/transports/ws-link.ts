import { CloseCode, dataWithPublisher, encodePublicationFrame, type PresenceUser } from '@herald/protocol';
import type { WebSocket } from 'ws';
import type { ClientLink, OutboundPublication, WireFormat } from '../core/outbound.js';
import type { Session } from '../core/session.js';
import type { Beating } from './heartbeat.js';
import { framed, preFraming, writeFrame } from './ws-frames.js';
import { corkForTurn, socketOfWebSocket } from './turn-writes.js';

const SEND_OPTIONS = { binary: false, compress: false, fin: true } as const;

/**
 * A `ws` socket as the hub sees it. Publications go out as pre-encoded buffers; a peer that
 * stops reading is closed once its unsent data passes the send-queue limit, so memory stays
 * bounded whatever the client does.
 */
export class WebSocketLink implements ClientLink, Beating {
  readonly transport: string = 'websocket';
  session: Session | undefined;
  lastSeen = Date.now();
  private closing = false;
  /** The format's frames, built once per publication for every socket; undefined without pre-framing. */
  private readonly frames: WireFormat<Buffer> | undefined;
  /** The TCP socket under `ws`, corked for the turn at each write. */
  private readonly socket;

  constructor(
    private readonly ws: WebSocket,
    private readonly format: WireFormat,
    private readonly sendQueueBytes: number,
    /** Whether control frames (joins, pings) are sent: not on `data` routes, whose clients expect only app JSON. */
    private readonly controlFrames: boolean,
    private readonly appPing: boolean,
  ) {
    this.frames = preFraming ? framedFormat(format) : undefined;
    this.socket = socketOfWebSocket(ws);
  }

  get open(): boolean {
    return !this.closing && this.ws.readyState === this.ws.OPEN;
  }

  sendPublication(out: OutboundPublication): void {
    // Herald's own `$` channels (user:online / user:offline) are control frames, not the app's data.
    if (!this.controlFrames && out.ownChannel) return;
    if (!this.frames) return this.sendRaw(out.encoded(this.format));
    if (!this.hasRoom()) return;
    if (!writeFrame(this.ws, out.encoded(this.frames))) this.ws.send(out.encoded(this.format), SEND_OPTIONS);
  }

  /** See ClientLink: a `pub` frame marked `state`, or on `data` routes the data alone. */
  sendState(out: OutboundPublication): void {
    const p = out.publication;
    this.sendRaw(this.controlFrames ? encodePublicationFrame(p, true) : JSON.stringify(dataWithPublisher(p) ?? null));
  }

  sendJoinLeave(kind: 'join' | 'leave', channel: string, user: PresenceUser): void {
    if (this.controlFrames) this.sendRaw(JSON.stringify({ type: kind, channel, user }));
  }

  /** Sends a frame unless the connection is closing or its queue is full. */
  sendRaw(data: string | Buffer): void {
    if (this.hasRoom()) this.ws.send(data, SEND_OPTIONS);
  }

  /** Whether a frame may be queued: the link is open and its send queue under the limit (else the slow reader is closed). */
  private hasRoom(): boolean {
    if (!this.open) return false;
    if (this.ws.bufferedAmount > this.sendQueueBytes) {
      if (this.session) this.session.tooSlow();
      else this.close(CloseCode.SlowConsumer, 'slow consumer: send queue full');
      return false;
    }
    corkForTurn(this.socket);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    closeWebSocket(this.ws, code, reason);
  }

  ping(): void {
    if (!this.open) return;
    this.ws.ping();
    if (this.appPing) this.sendRaw('{"type":"ping"}');
  }

  dead(): void {
    this.close(CloseCode.HeartbeatTimeout, 'no pong within the heartbeat timeout');
    this.ws.terminate();
  }
}

/** Closes with the reason fitted to a close frame; a peer that does not answer the close handshake (or reads nothing) is cut off after 2 s. */
export function closeWebSocket(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, fitCloseReason(reason));
  setTimeout(() => ws.terminate(), 2000).unref();
}

/** A close frame carries at most 123 bytes of reason: trim whole characters, never half of one. */
export function fitCloseReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = Array.from(out).slice(0, -1).join('');
  return out;
}

/** One framed format per wire format, shared by every link that uses it, so a publication is framed once. */
const framedFormats = new WeakMap<WireFormat, WireFormat<Buffer>>();
function framedFormat(format: WireFormat): WireFormat<Buffer> {
  let frames = framedFormats.get(format);
  if (!frames) framedFormats.set(format, (frames = framed(format)));
  return frames;
}
