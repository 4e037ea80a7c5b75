// A minimal WebSocket client (RFC 6455) for load generation: no extensions, text frames out,
// text or binary frames in, pings answered.
import { createHash, randomBytes } from 'node:crypto';
import { RawConnection, statusOf, type Endpoint } from './raw-connection.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONTINUATION = 0x0;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export abstract class WsConnection extends RawConnection {
  private readonly key: string;
  private fragments: Buffer[] | null = null;
  /** Close code and reason sent by the server, if it sent a close frame. */
  protected closeInfo = '';

  constructor(endpoint: Endpoint) {
    const key = randomBytes(16).toString('base64');
    super(
      endpoint,
      `GET ${endpoint.path} HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    this.key = key;
  }

  /** The upgrade succeeded. */
  protected abstract onOpen(): void;
  /** A complete message, in `buf[start, end)`; the bytes are only valid during the call. */
  protected abstract onMessage(buf: Buffer, start: number, end: number): void;
  /** The upgrade was refused or the connection failed before it. */
  protected abstract onRefused(reason: string): void;

  protected onHead(head: string): boolean {
    const status = statusOf(head);
    const accept = /^sec-websocket-accept:\s*(\S+)/im.exec(head)?.[1];
    const expected = createHash('sha1').update(this.key + GUID).digest('base64');
    if (status !== 101 || accept !== expected) {
      this.onRefused(status === 101 ? 'bad Sec-WebSocket-Accept' : head.split('\r\n')[0]);
      this.close();
      return false;
    }
    this.onOpen();
    return true;
  }

  protected onBody(buf: Buffer, start: number, end: number): number {
    let at = start;
    while (end - at >= 2) {
      const b0 = buf[at];
      let length = buf[at + 1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (end - at < 4) break;
        length = buf.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (end - at < 10) break;
        length = buf.readUInt32BE(at + 6); // messages over 4 GiB do not occur here
        header = 10;
      }
      if (end - at < header + length) break;
      const from = at + header;
      const to = from + length;
      at = to;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode >= OP_CLOSE) {
        this.onControl(opcode, buf.subarray(from, to));
        if (opcode === OP_CLOSE) return end;
      } else if (fin && opcode !== OP_CONTINUATION && !this.fragments) {
        this.onMessage(buf, from, to);
      } else {
        (this.fragments ??= []).push(Buffer.from(buf.subarray(from, to)));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = null;
          this.onMessage(whole, 0, whole.length);
        }
      }
    }
    return at;
  }

  private onControl(opcode: number, payload: Buffer): void {
    if (opcode === OP_PING) this.sendFrame(OP_PONG, Buffer.from(payload));
    else if (opcode === OP_CLOSE) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.closeInfo = `closed by server: ${code} ${payload.toString('utf8', 2)}`.trim();
      this.sendFrame(OP_CLOSE, payload.subarray(0, 2));
      this.socket.end();
    }
  }

  sendText(text: string): void {
    this.sendFrame(0x1, Buffer.from(text));
  }

  /** Client frames must be masked (RFC 6455 §5.3). */
  private sendFrame(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    const extended = payload.length < 126 ? 0 : payload.length < 65536 ? 2 : 8;
    const frame = Buffer.allocUnsafe(2 + extended + 4 + payload.length);
    frame[0] = 0x80 | opcode;
    if (extended === 0) frame[1] = 0x80 | payload.length;
    else if (extended === 2) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(payload.length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    const maskAt = 2 + extended;
    randomBytes(4).copy(frame, maskAt);
    for (let i = 0; i < payload.length; i++) frame[maskAt + 4 + i] = payload[i] ^ frame[maskAt + (i & 3)];
    this.socket.write(frame);
  }
}
