// Bench clients, one class per dialect: each connects, joins its room the way its server
// expects, answers heartbeats, and hands every stamped publication to its tracker.
import type { ServerFrame } from '@herald/protocol';
import { mintToken } from '../jwt.js';
import { readStamp, type Stamp } from '../payload.js';
import { roomName, type ClientPlan } from '../plan.js';
import type { Endpoint } from '../clients/raw-connection.js';
import { SseConnection } from '../clients/sse-connection.js';
import { WsConnection } from '../clients/ws-connection.js';
import { Tracker, type StepState } from './tracker.js';

export interface BenchClient {
  readonly tracker: Tracker;
  /** Settles once the client is subscribed and receiving, or has failed. */
  readonly ready: Promise<void>;
  readonly isOpen: boolean;
  close(): void;
}

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
  constructor(endpoint: Endpoint, readonly tracker: Tracker, private readonly channel: string) {
    super(endpoint);
  }
  protected onOpen(): void {}
  protected onMessage(buf: Buffer, start: number, end: number): void {
    if (readStamp(buf, start, end, STAMP)) return this.tracker.record(STAMP);
    let frame: ServerFrame;
    try {
      frame = JSON.parse(buf.toString('utf8', start, end)) as ServerFrame;
    } catch {
      return;
    }
    if (frame.type === 'ping') this.sendText('{"type":"pong"}');
    else if (frame.type === 'connected') this.sendText(JSON.stringify({ type: 'subscribe', id: 1, channel: this.channel }));
    else if (frame.type === 'reply' && frame.id === 1) {
      if ('error' in frame) this.readiness.reject(`subscribe refused: ${frame.error.code} ${frame.error.message}`);
      else this.readiness.resolve();
    } else if (frame.type === 'error') this.readiness.reject(`error frame: ${frame.code} ${frame.message}`);
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
  ) {
    super(endpoint);
  }
  protected onOpen(): void {}
  protected onMessage(buf: Buffer, start: number, end: number): void {
    if (readStamp(buf, start, end, STAMP)) return this.tracker.record(STAMP);
    const text = buf.toString('utf8', start, end);
    if (text === '2') return this.sendText('3');
    if (text.startsWith('0')) {
      return this.sendText(this.options.auth && this.token ? `40${JSON.stringify({ token: this.token })}` : '40');
    }
    if (text.startsWith('40')) {
      if (!this.options.joinEvent) return this.readiness.resolve();
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
  constructor(endpoint: Endpoint, readonly tracker: Tracker) {
    super(endpoint);
  }
  protected onOpen(): void {
    this.readiness.resolve();
  }
  protected onEvent(buf: Buffer, start: number, end: number): void {
    if (readStamp(buf, start, end, STAMP)) this.tracker.record(STAMP);
  }
  protected onRefused(reason: string): void {
    this.readiness.reject(reason);
  }
  protected onEnd(reason: string): void {
    this.readiness.reject(reason);
  }
}

/** Creates (and starts connecting) client `index` of `plan`. */
export function createClient(
  plan: ClientPlan,
  index: number,
  rooms: number,
  state: StepState,
  localAddress: string | undefined,
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
  switch (plan.dialect) {
    case 'ws-plain':
      return new WsPlainClient(endpoint, tracker);
    case 'herald-ws':
      return new HeraldWsClient(endpoint, tracker, channel);
    case 'socketio':
      return new SocketIoClient(endpoint, tracker, channel, token, plan.socketio ?? { auth: false });
    case 'sse':
      return new SseClient(endpoint, tracker);
  }
}
