import { connect, type Socket } from 'node:net';

/**
 * A raw TCP connection to a server under test, for bytes no well-behaved client would send.
 * Everything received is kept; `reset()` aborts with a TCP RST, as a crashed peer or a hostile
 * one does.
 */
export class RawSocket {
  private chunks: Buffer[] = [];
  private size = 0;
  private listeners: (() => void)[] = [];
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>;

  /** Set to receive each chunk; with `keep` false, chunks are handed over and not stored (a large stream's bytes). */
  onData: ((chunk: Buffer) => void) | undefined;
  keep = true;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.size += chunk.length;
      if (this.keep) this.chunks.push(chunk);
      this.onData?.(chunk);
      this.notify();
    });
    // A reset by the server, or our own reset, is an expected ending here.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => (this.notify(), resolve())));
  }

  /** Connects to the host and port of `url` (http:// or ws://). */
  static open(url: string): Promise<RawSocket> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      socket.once('connect', () => resolve(new RawSocket(socket)));
      socket.once('error', reject);
    });
  }

  /** All bytes received so far. */
  get received(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Bytes received so far, counted without copying them. */
  get receivedBytes(): number {
    return this.size;
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Aborts the connection with a TCP RST. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  /** Stops reading: the kernel buffers fill, then the server's send queue grows. */
  stopReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Waits until `check` holds for what was received (or the socket closed and it still fails). */
  async until<T>(check: (self: RawSocket) => T | undefined | false, timeoutMs = 3000, what = 'data'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check(this);
      if (value !== undefined && value !== false) return value;
      if (this.isClosed) throw new Error(`connection closed before ${what}; got ${JSON.stringify(this.text.slice(0, 300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.text.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.listeners.push(done);
      });
    }
  }

  /** Resolves when closed, or rejects after `timeoutMs`. */
  async closedWithin(timeoutMs = 3000, what = 'close'): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs)));
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private notify(): void {
    const waiting = this.listeners;
    this.listeners = [];
    for (const wake of waiting) wake();
  }
}

/** A parsed HTTP/1.1 response head and the body bytes after it. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses the first HTTP response in `text`, or undefined while its head or body is incomplete. */
export function parseResponse(text: string): RawResponse | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const rest = text.slice(end + 4);
  const length = headers['content-length'];
  if (length !== undefined && Buffer.byteLength(rest, 'latin1') < Number(length)) return undefined;
  return { status, headers, body: length !== undefined ? rest.slice(0, Number(length)) : rest };
}

/** Sends raw request bytes on a fresh connection and resolves with the response to them. */
export async function rawRequest(url: string, request: string | Buffer, timeoutMs = 3000): Promise<RawResponse> {
  const raw = await RawSocket.open(url);
  try {
    raw.write(request);
    return await raw.until((r) => parseResponse(r.text), timeoutMs, 'an HTTP response');
  } finally {
    raw.destroy();
  }
}
