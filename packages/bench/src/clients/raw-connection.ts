// A TCP connection that sends one HTTP request head and parses what comes back by hand, reading
// into one buffer shared by every connection of the process (reads are synchronous, one at a
// time): no allocation per read, which keeps thousands of clients cheap on one core.
import { connect, type Socket } from 'node:net';

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const HEAD_END = Buffer.from('\r\n\r\n');

export interface Endpoint {
  host: string;
  port: number;
  path: string;
  localAddress?: string;
}

export abstract class RawConnection {
  protected readonly socket: Socket;
  private pending: Buffer | null = null;
  private inHead = true;
  private ended = false;
  /** Called once after `onEnd`: lets an owner that outlives the connection (a resuming client) react. */
  onFinished: (() => void) | undefined;

  constructor(endpoint: Endpoint, requestHead: string) {
    this.socket = connect({
      host: endpoint.host,
      port: endpoint.port,
      localAddress: endpoint.localAddress,
      noDelay: true,
      // Returning false would pause the socket.
      onread: { buffer: READ_BUFFER, callback: (n: number) => (this.socketOnRead(n), true) },
    });
    this.socket.once('connect', () => this.socket.write(requestHead));
    this.socket.on('error', (err: Error) => this.finish(err.message));
    this.socket.once('close', () => this.finish('connection closed'));
  }

  /** Called with the response head (status line and headers); return false to stop reading. */
  protected abstract onHead(head: string): boolean;
  /** Consumes bytes `[start, end)` of `buf`; returns where the unconsumed rest begins. */
  protected abstract onBody(buf: Buffer, start: number, end: number): number;
  /** Called once, when the connection ends for any reason. */
  protected abstract onEnd(reason: string): void;

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Ends the connection with a reset: no TIME_WAIT left behind to use up local ports. */
  close(): void {
    this.finish('closed by client');
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(reason);
    this.onFinished?.();
  }

  private socketOnRead(n: number): void {
    let buf = READ_BUFFER;
    let start = 0;
    let end = n;
    if (this.pending) {
      buf = Buffer.concat([this.pending, READ_BUFFER.subarray(0, n)]);
      end = buf.length;
      this.pending = null;
    }
    if (this.inHead) {
      const at = buf.indexOf(HEAD_END, start);
      if (at < 0 || at >= end) {
        this.pending = Buffer.from(buf.subarray(start, end));
        return;
      }
      this.inHead = false;
      if (!this.onHead(buf.toString('latin1', start, at))) return;
      start = at + HEAD_END.length;
    }
    if (start >= end) return;
    const rest = this.onBody(buf, start, end);
    // Copy: the shared buffer is overwritten by the next read of any connection.
    if (rest < end) this.pending = Buffer.from(buf.subarray(rest, end));
  }
}

/** The status code of an HTTP response head. */
export function statusOf(head: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
}
