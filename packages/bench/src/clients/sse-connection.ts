// A minimal Server-Sent Events client for load generation: one GET, chunked or plain body,
// events split on blank lines and handed over as raw bytes.
import { RawConnection, statusOf, type Endpoint } from './raw-connection.js';

const LF = 0x0a;
const CR = 0x0d;

export abstract class SseConnection extends RawConnection {
  private chunked = false;
  /** Bytes left in the current chunk; -1 while a chunk-size line is expected. */
  private chunkLeft = -1;
  /** The CRLF that ends each chunk's data is still to be skipped. */
  private chunkTrailer = false;
  /** An event whose end has not arrived yet. */
  private partial: Buffer | null = null;

  constructor(endpoint: Endpoint, headers: Record<string, string> = {}) {
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    super(
      endpoint,
      `GET ${endpoint.path} HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\n` +
        `Accept: text/event-stream\r\nCache-Control: no-cache\r\n${extra}\r\n`,
    );
  }

  protected abstract onOpen(): void;
  /** One event block (its field lines, without the blank line), in `buf[start, end)`. */
  protected abstract onEvent(buf: Buffer, start: number, end: number): void;
  protected abstract onRefused(reason: string): void;

  protected onHead(head: string): boolean {
    const type = /^content-type:\s*([^;\r\n]+)/im.exec(head)?.[1]?.trim();
    if (statusOf(head) !== 200 || type !== 'text/event-stream') {
      this.onRefused(`${head.split('\r\n')[0]} (${type ?? 'no content-type'})`);
      this.close();
      return false;
    }
    this.chunked = /^transfer-encoding:\s*chunked/im.test(head);
    this.onOpen();
    return true;
  }

  protected onBody(buf: Buffer, start: number, end: number): number {
    if (!this.chunked) {
      this.onText(buf, start, end);
      return end;
    }
    let at = start;
    while (at < end) {
      if (this.chunkTrailer) {
        if (end - at < 2) return at;
        at += 2;
        this.chunkTrailer = false;
      }
      if (this.chunkLeft < 0) {
        const lineEnd = buf.indexOf(LF, at);
        if (lineEnd < 0 || lineEnd >= end) return at;
        this.chunkLeft = parseInt(buf.toString('latin1', at, lineEnd), 16);
        at = lineEnd + 1;
        if (this.chunkLeft === 0) {
          this.close(); // the server ended the stream
          return end;
        }
        continue;
      }
      const take = Math.min(this.chunkLeft, end - at);
      this.onText(buf, at, at + take);
      at += take;
      this.chunkLeft -= take;
      if (this.chunkLeft === 0) {
        this.chunkLeft = -1;
        this.chunkTrailer = true;
      }
    }
    return at;
  }

  /** Splits the event stream on blank lines, carrying an unfinished event to the next read. */
  private onText(buf: Buffer, start: number, end: number): void {
    if (this.partial) {
      buf = Buffer.concat([this.partial, buf.subarray(start, end)]);
      start = 0;
      end = buf.length;
      this.partial = null;
    }
    let eventStart = start;
    let lineStart = start;
    for (let i = buf.indexOf(LF, start); i >= 0 && i < end; i = buf.indexOf(LF, i + 1)) {
      const blankStart = lineStart;
      const blank = i === lineStart || (i === lineStart + 1 && buf[lineStart] === CR);
      lineStart = i + 1;
      if (!blank) continue;
      // The event is its field lines without the line break before the blank line.
      let eventEnd = blankStart;
      if (eventEnd > eventStart && buf[eventEnd - 1] === LF) eventEnd--;
      if (eventEnd > eventStart && buf[eventEnd - 1] === CR) eventEnd--;
      if (eventEnd > eventStart) this.onEvent(buf, eventStart, eventEnd);
      eventStart = lineStart;
    }
    if (eventStart < end) this.partial = Buffer.from(buf.subarray(eventStart, end));
  }
}
