import type { ServerResponse } from 'node:http';
import { CloseCode, dataWithPublisher, type PresenceUser, type StreamPosition } from '@herald/protocol';
import type { ClientLink, OutboundPublication, WireFormat } from '../core/outbound.js';
import type { Session } from '../core/session.js';
import { encodeCursor } from './stream-cursor.js';
import { corkForTurn } from './turn-writes.js';

/**
 * An event name as an SSE field value. Names are validated at publish; this keeps the framing
 * whatever an engine hands over (CR or LF would end the field and start another).
 */
const eventField = (name: string): string => name.replace(/[\r\n]/g, ' ');

/** `event:` and `data:` lines of a publication, shared by every SSE stream; the `id:` line is per stream. */
export const sseEnvelopeFormat: WireFormat = {
  name: 'sse-envelope',
  encode: (p) =>
    Buffer.from(
      `event: ${eventField(p.event)}\ndata: ${JSON.stringify({ id: p.id, channel: p.channel, event: p.event, data: p.data, offset: p.offset, epoch: p.epoch, ts: p.ts, ...(p.publisher ? { publisher: p.publisher } : {}) })}\n\n`,
    ),
};

export const sseDataFormat: WireFormat = {
  name: 'sse-data',
  encode: (p) => Buffer.from(`event: ${eventField(p.event)}\ndata: ${JSON.stringify(dataWithPublisher(p) ?? null)}\n\n`),
};

/** A publication as one HTTP/1.1 chunk of a one-channel stream, but for the stream's connection id, which goes between `head` and `tail`. */
interface SseChunk {
  /** The chunk's size line and `id: <epoch>:<offset>;`. */
  head: Buffer;
  /** What follows the connection id's line: the event's `event:` and `data:` lines, then the chunk's CRLF. */
  tail: Buffer;
}

const CRLF = Buffer.from('\r\n');

/**
 * The chunk formats of a format, one per length of the connection id line (ids of one node
 * differ in length only as their counter grows), so each publication is encoded once per
 * length for every stream, not once per stream.
 */
const chunkFormats = new WeakMap<WireFormat, Map<number, WireFormat<SseChunk>>>();
function chunkFormat(format: WireFormat, idLineBytes: number): WireFormat<SseChunk> {
  let byLength = chunkFormats.get(format);
  if (!byLength) chunkFormats.set(format, (byLength = new Map()));
  let chunk = byLength.get(idLineBytes);
  if (!chunk) {
    chunk = {
      name: `${format.name}+chunk${idLineBytes}`,
      encode: (p) => {
        const encoded = format.encode(p);
        const body = typeof encoded === 'string' ? Buffer.from(encoded) : encoded;
        // The stream's cursor up to its connection id (`<epoch>:<offset>;`); epochs and offsets
        // are ASCII ([A-Za-z0-9_-] and digits), so characters are bytes.
        const id = `id: ${encodeCursor([p], '')}`;
        return { head: Buffer.from(`${(id.length + idLineBytes + body.length).toString(16)}\r\n${id}`), tail: Buffer.concat([body, CRLF]) };
      },
    };
    byLength.set(idLineBytes, chunk);
  }
  return chunk;
}

/**
 * One Server-Sent Events response as the hub sees it. Event names and ids cannot carry CR or
 * LF (names are validated at publish; ids are cursors), and JSON escapes newlines, so a
 * publication can never inject a field.
 */
export class SseLink implements ClientLink {
  readonly transport = 'sse';
  session: Session | undefined;
  private closed = false;
  private readonly index = new Map<string, number>();
  /** `<connection id>\n`, the end of this stream's `id:` lines; made on the first publication. */
  private idLine: Buffer | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly format: WireFormat,
    private readonly channels: readonly string[],
    private readonly positions: StreamPosition[],
    private readonly sendQueueBytes: number,
  ) {
    channels.forEach((c, i) => this.index.set(c, i));
  }

  get open(): boolean {
    return !this.closed && !this.res.destroyed;
  }

  /** Sets a channel's position (from its subscribe result) before anything is sent. */
  setPosition(channel: string, position: StreamPosition): void {
    const i = this.index.get(channel);
    // A copy: sendPublication moves it in place.
    if (i !== undefined) this.positions[i] = { epoch: position.epoch, offset: position.offset };
  }

  /**
   * Gives the client the stream's cursor before any publication, so that a reader cut before
   * the first one still comes back with its position: on envelope streams as the id of
   * `connected`, on `data` streams as the id of a `herald:cursor` event that apps do not listen
   * to. Browsers would take the id of an event without data too, but the `eventsource` package
   * ignores such events, id and all.
   */
  sendOpening(connected: Record<string, unknown> | undefined): void {
    const id = `id: ${encodeCursor(this.positions, this.session?.id)}\n`;
    if (connected) this.write(`${id}event: connected\ndata: ${JSON.stringify(connected)}\n\n`);
    else this.write(`${id}event: herald:cursor\ndata: {}\n\n`);
  }

  sendPublication(out: OutboundPublication): void {
    const p = out.publication;
    // Herald's own `$` channels (user:online / offline) are not the app's data: not on `data` streams, as on WebSocket.
    if (this.format === sseDataFormat && out.ownChannel) return;
    const i = this.index.get(p.channel);
    if (i === undefined) return this.write(out.encoded(this.format));
    const position = this.positions[i];
    position.epoch = p.epoch;
    position.offset = p.offset;
    if (this.positions.length === 1 && this.session && this.writeChunk(out, this.session.id)) return;
    this.write(`id: ${encodeCursor(this.positions, this.session?.id)}\n`);
    this.write(out.encoded(this.format));
  }

  /**
   * A one-channel stream's cursor is the publication's own position and the connection id, so
   * the whole HTTP chunk is shared by every such stream but for the id, and is written to the
   * socket in three pre-built pieces: the text the two `res.write` calls below send, in one
   * chunk and three socket writes instead of two chunks and eight. Only while the response
   * writes straight to its socket (chunked, nothing buffered in the response): otherwise false,
   * and the caller writes through the response.
   */
  private writeChunk(out: OutboundPublication, connectionId: string): boolean {
    const res = this.res;
    const socket = res.socket;
    if (!this.open || !socket || !res.chunkedEncoding || res.writableLength !== socket.writableLength || !socket.writable) return false;
    if (!this.hasRoom()) return true;
    const idLine = (this.idLine ??= Buffer.from(`${connectionId}\n`));
    const chunk = out.encoded(chunkFormat(this.format, idLine.length));
    corkForTurn(socket);
    socket.write(chunk.head);
    socket.write(idLine);
    socket.write(chunk.tail);
    return true;
  }

  /** See ClientLink: without an `id:` line, so the stream's Last-Event-ID stays where it is. */
  sendState(out: OutboundPublication): void {
    this.write(out.encoded(this.format));
  }

  sendJoinLeave(kind: 'join' | 'leave', channel: string, user: PresenceUser): void {
    if (this.format === sseEnvelopeFormat) this.sendEvent(kind, { channel, user });
  }

  /** A named event with a JSON body. */
  sendEvent(event: string, body: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(body)}\n\n`);
  }

  comment(text: string): void {
    this.write(`: ${text.replace(/[\r\n]/g, ' ')}\n\n`);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    if (this.format === sseEnvelopeFormat && code !== CloseCode.SlowConsumer) this.sendEvent('close', { code, reason });
    this.closed = true;
    this.res.end();
    // A reader that never drains would keep the socket; cut it.
    setTimeout(() => this.res.destroy(), 2000).unref();
  }

  private write(chunk: string | Buffer): void {
    if (!this.open || !this.hasRoom()) return;
    corkForTurn(this.res.socket);
    this.res.write(chunk);
  }

  /** Whether the send queue is under the limit; past it the slow reader is closed. */
  private hasRoom(): boolean {
    if (this.res.writableLength <= this.sendQueueBytes) return true;
    if (this.session) this.session.tooSlow();
    else this.close(CloseCode.SlowConsumer, 'slow consumer');
    return false;
  }
}
