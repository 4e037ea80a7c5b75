import WebSocket from 'ws';

/** A recorded close: code and reason. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/**
 * A WebSocket test client that records every frame, so a test can wait for one by predicate
 * without racing the server.
 */
export class TestClient {
  readonly frames: any[] = [];
  readonly ws: WebSocket;
  readonly closed: Promise<CloseInfo>;
  private waiters: { match: (f: any) => boolean; resolve: (f: any) => void }[] = [];
  private nextId = 1;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data, isBinary) => {
      const text = data.toString();
      let frame: any;
      try {
        frame = isBinary ? data : JSON.parse(text);
      } catch {
        frame = text;
      }
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => !(w.match(frame) && (w.resolve(frame), true)));
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Resolves when the socket is open; rejects if it fails to open (e.g. an HTTP refusal). */
  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
      this.ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits for a frame matching the predicate (already received or future). */
  next(match: (frame: any) => boolean, timeoutMs = 3000): Promise<any> {
    const seen = this.frames.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  /** Sends a request with a fresh id and resolves with its reply frame. */
  async request(frame: Record<string, unknown>, timeoutMs = 3000): Promise<any> {
    const id = this.nextId++;
    this.send({ ...frame, id });
    return this.next((f) => f?.type === 'reply' && f.id === id, timeoutMs);
  }

  /** Publications received on a channel, in order. */
  pubs(channel?: string): any[] {
    return this.frames.filter((f) => f?.type === 'pub' && (channel === undefined || f.channel === channel));
  }

  close(): void {
    this.ws.close();
  }
}

/** Connects with a token in the query and waits for the `connected` frame. */
export async function connectClient(wsUrl: string, token: string, path = '/ws'): Promise<TestClient> {
  const client = new TestClient(`${wsUrl}${path}?token=${encodeURIComponent(token)}`);
  await client.opened();
  await client.next((f) => f?.type === 'connected');
  return client;
}
