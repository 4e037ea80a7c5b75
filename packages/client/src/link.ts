import { decodeServerFrame, type ClientFrame, type ConnectedFrame, type ServerFrame } from '@herald/protocol';
import { HeraldError } from './errors.js';
import { PendingRequests } from './requests.js';
import { dropSocket, sendIfOpen, type WebSocketConstructor, type WebSocketLike } from './socket.js';
import { Watchdog } from './watchdog.js';

export interface LinkOptions {
  connectTimeout: number;
  requestTimeout: number;
  /** Missed server pings before the link is declared dead; 0 turns the watchdog off. */
  missedPings: number;
}

/** How a link ended. `code` is absent when the client itself detected the end (timeout, silence). */
export interface LinkEnd {
  code?: number;
  reason: string;
}

export interface LinkHandlers {
  connected(frame: ConnectedFrame): void;
  /** Frames after `connected`, except replies and pings, which the link handles. */
  frame(frame: ServerFrame): void;
  /** Called once, however the link ends, unless the client closed it. */
  ended(end: LinkEnd): void;
}

/**
 * One WebSocket connection, from opening to its end: sends the `connect` frame, answers pings,
 * matches replies to requests and watches for silence. Reconnecting is the client's business.
 */
export class Link {
  private readonly socket: WebSocketLike;
  private readonly requests = new PendingRequests();
  private watchdog: Watchdog | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private done = false;
  connected = false;

  constructor(
    WebSocketCtor: WebSocketConstructor,
    url: string,
    token: string,
    private readonly options: LinkOptions,
    private readonly handlers: LinkHandlers,
    /** The previous connection's id on a reconnect: the server closes it if it still holds it. */
    replaces?: string,
  ) {
    this.socket = new WebSocketCtor(url);
    this.socket.onopen = () => this.send({ type: 'connect', token, ...(replaces !== undefined ? { replaces } : {}) });
    this.socket.onmessage = (event: { data: unknown }) => this.socketOnMessage(event.data);
    this.socket.onclose = (event: { code: number; reason: string }) => this.end({ code: event.code, reason: event.reason || `closed with ${event.code}` });
    // An error is always followed by a close, which says more.
    this.socket.onerror = () => {};
    this.connectTimer = setTimeout(() => this.abort(`not connected within ${options.connectTimeout} ms`), options.connectTimeout);
  }

  send(frame: ClientFrame): boolean {
    return !this.done && sendIfOpen(this.socket, JSON.stringify(frame));
  }

  /** Sends a request and resolves with its result; `onResult` runs before any later frame is handled. */
  request<T>(frame: Exclude<ClientFrame, { type: 'pong' }>, onResult?: (result: T) => void): Promise<T> {
    if (this.done || !this.connected) return Promise.reject(new HeraldError('disconnected', 'not connected'));
    const { id, promise } = this.requests.create<T>(this.options.requestTimeout, onResult);
    this.send({ ...frame, id });
    return promise;
  }

  /** Closes the link from the client side; `ended` is not called. */
  close(reason: string): void {
    if (this.done) return;
    this.finish(new HeraldError('closed', reason));
    dropSocket(this.socket, reason);
  }

  /** Drops the link because the client detected a problem; `ended` is called. */
  abort(reason: string): void {
    if (this.done) return;
    dropSocket(this.socket, reason);
    this.end({ reason });
  }

  private socketOnMessage(data: unknown): void {
    if (this.done || typeof data !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(data);
    } catch {
      return;
    }
    this.watchdog?.touch();
    switch (frame.type) {
      case 'connected':
        return this.onConnected(frame);
      case 'reply':
        return this.requests.settle(frame);
      case 'ping':
        this.send({ type: 'pong' });
        return;
      case 'pong':
        return;
      default:
        if (this.connected) this.handlers.frame(frame);
    }
  }

  private onConnected(frame: ConnectedFrame): void {
    if (this.connected) return;
    this.connected = true;
    clearTimeout(this.connectTimer);
    const missed = this.options.missedPings;
    if (missed > 0 && frame.heartbeat?.interval > 0) {
      this.watchdog = new Watchdog({
        interval: frame.heartbeat.interval,
        missed,
        probe: () => this.send({ type: 'ping' }),
        dead: (silent) => this.abort(`no ping from the server for ${silent} ms`),
      });
      this.watchdog.start();
    }
    this.handlers.connected(frame);
  }

  private end(end: LinkEnd): void {
    if (this.done) return;
    this.finish(new HeraldError('disconnected', `connection lost: ${end.reason}`));
    this.handlers.ended(end);
  }

  private finish(err: HeraldError): void {
    this.done = true;
    this.connected = false;
    clearTimeout(this.connectTimer);
    this.watchdog?.stop();
    this.requests.failAll(err);
  }
}
