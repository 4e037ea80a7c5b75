// Bench clients, one class per dialect: each connects, joins its room the way its server
// expects, answers heartbeats, and hands every stamped publication to its tracker.
import type { ServerFrame } from '@herald/protocol';
import { mintToken } from '../jwt.js';
import { readNumberAfter, readStamp, type Stamp } from '../payload.js';
import { roomName, type ClientPlan } from '../plan.js';
import type { Endpoint } from '../clients/raw-connection.js';
import { SseConnection } from '../clients/sse-connection.js';
import { WsConnection } from '../clients/ws-connection.js';
import { ResumingClient, type BenchConnection, type Jitter } from './resuming-client.js';
import { Tracker, type StepState } from './tracker.js';

export interface BenchClient {
  readonly tracker: Tracker;
  /** Settles once the client is subscribed and receiving, or has failed. */
  readonly ready: Promise<void>;
  readonly isOpen: boolean;
  close(): void;
}

/**
 * Where a client resumes after its connection drops, kept across its connections the way each
 * stock client keeps it. Only resuming clients (the jitter workload) have one: the others skip
 * reading positions.
 */
export interface Resume {
  /** herald-ws: the channel's epoch and the offset of the last `pub` received. */
  epoch: string;
  offset: number;
  /** sse: the `id:` of the last event, sent back as `Last-Event-ID`. */
  lastEventId: string;
  /** socketio: the session's pid from the CONNECT answer and the last event's last string argument. */
  pid: string;
  cursor: string;
}

export function emptyResume(): Resume {
  return { epoch: '', offset: 0, lastEventId: '', pid: '', cursor: '' };
}

const OFFSET_FIELD = Buffer.from('"offset":', 'latin1');
const ID_FIELD = Buffer.from('id:', 'latin1');
const QUOTE = 0x22;

// One stamp object reused for every message: records are synchronous.
const STAMP: Stamp = { step: 0, seq: 0, sentAt: 0 };

class Readiness {
  readonly promise: Promise<void>;
  settled = false;
  resolve!: () => void;
  reject!: (reason: string) => void;
  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = () => {
        this.settled = true;
        resolve();
      };
      this.reject = (reason) => {
        if (!this.settled) reject(new Error(reason));
        this.settled = true;
      };
    });
  }
}

/** `ws-plain`: the room is in the URL; ready once upgraded. */
class WsPlainClient extends WsConnection implements BenchClient {
  private readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  constructor(endpoint: Endpoint, readonly tracker: Tracker) {
    super(endpoint);
  }
  protected onOpen(): void {
    this.readiness.resolve();
  }
  protected onMessage(buf: Buffer, start: number, end: number): void {
    if (readStamp(buf, start, end, STAMP)) this.tracker.record(STAMP);
  }
  protected onRefused(reason: string): void {
    this.readiness.reject(reason);
  }
  protected onEnd(reason: string): void {
    this.readiness.reject(this.closeInfo || reason);
  }
}

/** `herald-ws`: waits for `connected`, subscribes, ready on the subscribe reply; answers pings. */
class HeraldWsClient extends WsConnection implements BenchClient {
  private readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  constructor(
    endpoint: Endpoint,
    readonly tracker: Tracker,
    private readonly channel: string,
    private readonly resume: Resume | undefined,
  ) {
    super(endpoint);
  }
  protected onOpen(): void {}
  protected onMessage(buf: Buffer, start: number, end: number): void {
    if (readStamp(buf, start, end, STAMP)) {
      if (this.resume) this.resume.offset = readNumberAfter(buf, OFFSET_FIELD, start, end);
      return this.tracker.record(STAMP);
    }
    let frame: ServerFrame;
    try {
      frame = JSON.parse(buf.toString('utf8', start, end)) as ServerFrame;
    } catch {
      return;
    }
    if (frame.type === 'ping') this.sendText('{"type":"pong"}');
    else if (frame.type === 'connected') this.subscribe();
    else if (frame.type === 'reply' && frame.id === 1) {
      if ('error' in frame) return this.readiness.reject(`subscribe refused: ${frame.error.code} ${frame.error.message}`);
      const result = frame.result as { epoch: string; offset: number };
      // A fresh subscription (or a new epoch) is live from the reply's position.
      if (this.resume && this.resume.epoch !== result.epoch) Object.assign(this.resume, { epoch: result.epoch, offset: result.offset });
      this.readiness.resolve();
    } else if (frame.type === 'error') this.readiness.reject(`error frame: ${frame.code} ${frame.message}`);
  }
  /** Subscribes, from the last position received when there is one (protocol.md, Recovery). */
  private subscribe(): void {
    const resume = this.resume;
    const since = resume?.epoch ? { epoch: resume.epoch, offset: resume.offset } : undefined;
    this.sendText(JSON.stringify({ type: 'subscribe', id: 1, channel: this.channel, ...(since ? { since } : {}) }));
  }
  protected onRefused(reason: string): void {
    this.readiness.reject(reason);
  }
  protected onEnd(reason: string): void {
    this.readiness.reject(this.closeInfo || reason);
  }
}

/**
 * `socketio`: Engine.IO v4 over WebSocket. Answers the server's ping ("2") with a pong ("3"),
 * connects to the main namespace (with `{token}` when asked), then optionally emits the join
 * event with an ack id and is ready on the ack.
 */
class SocketIoClient extends WsConnection implements BenchClient {
  private readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  private joinTimer: NodeJS.Timeout | undefined;
  constructor(
    endpoint: Endpoint,
    readonly tracker: Tracker,
    private readonly channel: string,
    private readonly token: string | undefined,
    private readonly options: NonNullable<ClientPlan['socketio']>,
    private readonly resume: Resume | undefined,
  ) {
    super(endpoint);
  }
  protected onOpen(): void {}
  protected onMessage(buf: Buffer, start: number, end: number): void {
    // socket.io-client keeps an event's last string argument as its recovery offset (with a pid only).
    if (this.resume?.pid && buf[start] === 0x34 && buf[start + 1] === 0x32) this.keepCursor(buf, start, end);
    if (readStamp(buf, start, end, STAMP)) return this.tracker.record(STAMP);
    const text = buf.toString('utf8', start, end);
    if (text === '2') return this.sendText('3');
    if (text.startsWith('0')) return this.sendText(`40${this.connectData()}`);
    if (text.startsWith('40')) {
      // Connection state recovery: the server answers with the pid it was given when it restored
      // the session (rooms and missed packets); a stock app then does not join again.
      const recovered = this.resume ? this.keepPid(text.slice(2)) : false;
      if (!this.options.joinEvent || recovered) return this.readiness.resolve();
      this.sendText(`420${JSON.stringify([this.options.joinEvent, { room: this.channel }])}`);
      // A server that does not acknowledge joins is taken as joined after a moment.
      this.joinTimer = setTimeout(() => this.readiness.resolve(), 1000);
      return;
    }
    if (text.startsWith('430')) {
      clearTimeout(this.joinTimer);
      return this.readiness.resolve();
    }
    if (text.startsWith('44')) return this.readiness.reject(`Socket.IO connect refused: ${text.slice(2)}`);
    if (text.startsWith('42["error"')) this.readiness.reject(`Socket.IO error event: ${text.slice(2)}`);
  }
  /** The CONNECT packet's data: `{token}` when asked, plus `{pid, offset}` to resume a session. */
  private connectData(): string {
    const data: Record<string, string> = {};
    if (this.options.auth && this.token) data.token = this.token;
    if (this.resume?.pid) Object.assign(data, { pid: this.resume.pid, offset: this.resume.cursor });
    return Object.keys(data).length > 0 ? JSON.stringify(data) : '';
  }
  /** Keeps the CONNECT answer's pid; true when it is the one sent (the session was recovered). */
  private keepPid(answer: string): boolean {
    let pid = '';
    try {
      pid = (JSON.parse(answer) as { pid?: string }).pid ?? '';
    } catch {
      // no data: a server without recovery
    }
    const recovered = pid !== '' && pid === this.resume!.pid;
    this.resume!.pid = pid;
    if (!recovered) this.resume!.cursor = '';
    return recovered;
  }
  /** `…,"<cursor>"]`: an event whose last argument is a string (cursors need no escaping). */
  private keepCursor(buf: Buffer, start: number, end: number): void {
    if (buf[end - 1] !== 0x5d || buf[end - 2] !== QUOTE) return;
    const open = buf.lastIndexOf(QUOTE, end - 3);
    if (open > start && buf[open - 1] === 0x2c) this.resume!.cursor = buf.toString('latin1', open + 1, end - 2);
  }
  protected onRefused(reason: string): void {
    this.readiness.reject(reason);
  }
  protected onEnd(reason: string): void {
    clearTimeout(this.joinTimer);
    this.readiness.reject(this.closeInfo || reason);
  }
}

/** `sse`: ready once the stream's head arrives; every event block is scanned for a stamp. */
class SseClient extends SseConnection implements BenchClient {
  private readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  constructor(
    endpoint: Endpoint,
    readonly tracker: Tracker,
    private readonly resume: Resume | undefined,
  ) {
    super(endpoint, resume?.lastEventId ? { 'Last-Event-ID': resume.lastEventId } : {});
  }
  protected onOpen(): void {
    this.readiness.resolve();
  }
  protected onEvent(buf: Buffer, start: number, end: number): void {
    if (this.resume && buf.indexOf(ID_FIELD, start) === start) {
      const lineEnd = buf.indexOf(0x0a, start);
      this.resume.lastEventId = buf.toString('latin1', start + ID_FIELD.length, lineEnd < 0 || lineEnd > end ? end : lineEnd).trim();
    }
    if (readStamp(buf, start, end, STAMP)) this.tracker.record(STAMP);
  }
  protected onRefused(reason: string): void {
    this.readiness.reject(reason);
  }
  protected onEnd(reason: string): void {
    this.readiness.reject(reason);
  }
}

/**
 * Creates (and starts connecting) client `index` of `plan`. Under `jitter` it is a resuming
 * client: dropped by the jitter, it comes back with its position.
 */
export function createClient(
  plan: ClientPlan,
  index: number,
  rooms: number,
  state: StepState,
  localAddress: string | undefined,
  jitter?: Jitter,
): BenchClient {
  const room = index % rooms;
  const node = index % plan.ports.length;
  const channel = roomName(room);
  const token = plan.jwtSecret ? mintToken(plan.jwtSecret, `bench-${index}`) : undefined;
  const path = plan.path
    .replace('{room}', encodeURIComponent(channel))
    .replace('{token}', encodeURIComponent(token ?? ''));
  const endpoint: Endpoint = { host: plan.host, port: plan.ports[node], path, localAddress };
  const tracker = new Tracker(room, node, state);
  const open = (resume?: Resume): BenchConnection => {
    switch (plan.dialect) {
      case 'ws-plain':
        return new WsPlainClient(endpoint, tracker);
      case 'herald-ws':
        return new HeraldWsClient(endpoint, tracker, channel, resume);
      case 'socketio':
        return new SocketIoClient(endpoint, tracker, channel, token, plan.socketio ?? { auth: false }, resume);
      case 'sse':
        return new SseClient(endpoint, tracker, resume);
    }
  };
  return jitter ? new ResumingClient(tracker, jitter, emptyResume(), open) : open();
}
