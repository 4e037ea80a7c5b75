import { randomBytes } from 'node:crypto';
import { RawSocket, parseResponse, type RawResponse } from './raw-socket.js';

/** WebSocket opcodes (RFC 6455 §5.2). */
export const Opcode = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** One frame as a client would send it; every field a hostile client may get wrong is settable. */
export interface ClientFrame {
  opcode: number;
  payload?: string | Buffer;
  fin?: boolean;
  /** RSV1..RSV3 as bits 4, 2, 1. */
  rsv?: number;
  /** Clients must mask; false sends the payload in the clear. */
  mask?: boolean;
  /** A payload length to announce instead of the real one (for lengths nobody should send). */
  declaredLength?: bigint;
}

/** Encodes a client frame. */
export function clientFrame(frame: ClientFrame): Buffer {
  const payload = typeof frame.payload === 'string' ? Buffer.from(frame.payload) : (frame.payload ?? Buffer.alloc(0));
  const mask = frame.mask ?? true;
  const length = frame.declaredLength ?? BigInt(payload.length);
  const head = [((frame.fin ?? true) ? 0x80 : 0) | ((frame.rsv ?? 0) << 4) | frame.opcode];
  const maskBit = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65536n) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(length));
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(length);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason: string | Buffer = ''): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(code);
  return Buffer.concat([out, typeof reason === 'string' ? Buffer.from(reason) : reason]);
}

/** A frame the server sent; `length` is its payload's size even when the payload was not kept. */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  length: number;
  payload: Buffer;
}

/** The handshake request a browser would send, with room for extra headers. */
export function upgradeRequest(path: string, headers: Record<string, string> = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * A WebSocket spoken by hand over a raw socket: the upgrade, then frames parsed as they come.
 * With `keepPayloads: false` large payloads are counted and dropped (a slow reader's backlog
 * should not grow the test process it is measured in); close payloads are always kept.
 */
export class RawWebSocket {
  readonly frames: ServerFrame[] = [];
  private pending = Buffer.alloc(0);

  private constructor(readonly raw: RawSocket, readonly response: RawResponse, rest: Buffer, private readonly keepPayloads: boolean) {
    raw.keep = false;
    raw.onData = (chunk) => this.parse(chunk);
    this.parse(rest);
  }

  /** Opens `path` on the server at `url` and waits for the 101; rejects with the status of a refusal. */
  static async open(url: string, path: string, options: { headers?: Record<string, string>; keepPayloads?: boolean } = {}): Promise<RawWebSocket> {
    const raw = await RawSocket.open(url);
    raw.write(upgradeRequest(path, options.headers));
    const head = await raw.until((r) => parseResponse(r.text), 3000, 'an answer to the upgrade');
    if (head.status !== 101) {
      raw.destroy();
      throw Object.assign(new Error(`HTTP ${head.status}: ${head.body}`), { statusCode: head.status, body: head.body });
    }
    const rest = raw.received.subarray(raw.text.indexOf('\r\n\r\n') + 4);
    return new RawWebSocket(raw, head, rest, options.keepPayloads ?? true);
  }

  send(frame: ClientFrame): void {
    this.raw.write(clientFrame(frame));
  }

  sendText(text: string): void {
    this.send({ opcode: Opcode.Text, payload: text });
  }

  /** Text frames received, parsed as JSON where they are JSON. */
  get messages(): any[] {
    return this.frames
      .filter((f) => f.opcode === Opcode.Text)
      .map((f) => {
        const text = f.payload.toString();
        try {
          return JSON.parse(text);
        } catch {
          return text;
        }
      });
  }

  /** Waits for a text message matching `match`. */
  nextMessage(match: (message: any) => boolean, timeoutMs = 3000): Promise<any> {
    return this.raw.until(() => this.messages.find(match), timeoutMs, 'a matching message');
  }

  /**
   * The server's close frame: code and reason. 1006 when the connection ended without one. Does
   * not answer it, so the connection ends when the server gives up waiting.
   */
  async closeFrame(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const close = this.frames.find((f) => f.opcode === Opcode.Close);
      if (close) return { code: close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005, reason: close.payload.subarray(2).toString() };
      if (this.raw.isClosed) return { code: 1006, reason: '' };
      if (Date.now() > deadline) throw new Error(`no close frame within ${timeoutMs} ms; frames: ${this.frames.map((f) => f.opcode).join(',')}`);
      await Promise.race([this.raw.closed, new Promise((resolve) => setTimeout(resolve, 10))]);
    }
  }

  private parse(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (buf.length < 2) break;
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      let length = buf[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buf.length < 4) break;
        length = buf.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buf.length < 10) break;
        length = Number(buf.readBigUInt64BE(2));
        offset = 10;
      }
      if (buf.length < offset + length) break;
      const keep = this.keepPayloads || opcode === Opcode.Close || length <= 4096;
      this.frames.push({ fin, opcode, length, payload: keep ? Buffer.from(buf.subarray(offset, offset + length)) : Buffer.alloc(0) });
      buf = buf.subarray(offset + length);
    }
    this.pending = Buffer.from(buf);
  }
}
