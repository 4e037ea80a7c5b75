// One HTTP/1.1 keep-alive connection with pipelining: requests go out in order without waiting
// for answers, and the server handles them in that order. This keeps each room's publications
// in sequence (parallel connections would reorder them) and costs far less CPU than
// `http.request` per publication.
import { connect, type Socket } from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');

export type Answer = (status: number, error?: string) => void;

export class HttpPipeline {
  private readonly socket: Socket;
  private readonly answers: Answer[] = [];
  private pending: Buffer | null = null;
  private outbox = '';
  private broken: string | null = null;
  readonly connected: Promise<void>;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly headers: Record<string, string>,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => this.socketOnData(chunk));
    this.socket.on('error', (err) => this.fail(err.message));
    this.socket.on('close', () => this.fail('connection closed'));
  }

  get inFlight(): number {
    return this.answers.length;
  }

  /** Queues a JSON POST; `flush` sends everything queued in one write. */
  post(path: string, body: string, answer: Answer): void {
    if (this.broken) return answer(0, this.broken);
    let head = `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: application/json\r\n`;
    for (const name in this.headers) head += `${name}: ${this.headers[name]}\r\n`;
    this.outbox += `${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    this.answers.push(answer);
  }

  flush(): void {
    if (this.outbox && !this.broken) this.socket.write(this.outbox);
    this.outbox = '';
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(message: string): void {
    this.broken ??= message;
    for (const answer of this.answers.splice(0)) answer(0, message);
  }

  private socketOnData(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    for (;;) {
      const headEnd = buf.indexOf(HEAD_END);
      if (headEnd < 0) break;
      const head = buf.toString('latin1', 0, headEnd);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      let bodyEnd: number;
      const length = /^content-length:\s*(\d+)/im.exec(head);
      if (length) bodyEnd = headEnd + 4 + Number(length[1]);
      else if (/^transfer-encoding:\s*chunked/im.test(head)) {
        const last = buf.indexOf('\r\n0\r\n\r\n', headEnd + 2);
        if (last < 0) break;
        bodyEnd = last + 7;
      } else bodyEnd = headEnd + 4;
      if (bodyEnd > buf.length) break;
      buf = buf.subarray(bodyEnd);
      this.answers.shift()?.(status);
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
  }
}
