import type { ClientFrame } from '@herald/protocol';
import { HeraldError } from './errors.js';
import { PendingRequests } from './requests.js';
import { dropSocket, sendIfOpen, type WebSocketConstructor, type WebSocketLike } from './socket.js';
import type { Watchdog } from './watchdog.js';

/** How a link ended. `code` is absent when the client itself detected the end (timeout, silence). */
export interface LinkEnd {
  code?: number;
  reason: string;
}

/**
 * What every kind of link does with its WebSocket, from opening to its end: sends frames,
 * matches replies to requests, watches for silence, and ends once, however it ends. A subclass
 * says what the first frame is and how the server's messages are read.
 */
export abstract class SocketLink {
  protected readonly socket: WebSocketLike;
  protected readonly requests = new PendingRequests();
  protected watchdog: Watchdog | undefined;
  protected done = false;
  connected = false;

  constructor(
    WebSocketCtor: WebSocketConstructor,
    url: string,
    private readonly requestTimeout: number,
    /** Called once, however the link ends, unless the client closed it. */
    private readonly ended: (end: LinkEnd) => void,
  ) {
    this.socket = new WebSocketCtor(url);
    this.socket.onmessage = (event: { data: unknown }) => this.socketOnMessage(event.data);
    this.socket.onclose = (event: { code: number; reason: string }) => this.end({ code: event.code, reason: event.reason || `closed with ${event.code}` });
    // An error is always followed by a close, which says more.
    this.socket.onerror = () => {};
  }

  send(frame: ClientFrame): boolean {
    return !this.done && sendIfOpen(this.socket, JSON.stringify(frame));
  }

  /** Sends a request and resolves with its result; `onResult` runs before any later frame is handled. */
  request<T>(frame: Exclude<ClientFrame, { type: 'pong' }>, onResult?: (result: T) => void): Promise<T> {
    if (this.done || !this.connected) return Promise.reject(new HeraldError('disconnected', 'not connected'));
    const { id, promise } = this.requests.create<T>(this.requestTimeout, onResult);
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

  protected abstract socketOnMessage(data: unknown): void;

  private end(end: LinkEnd): void {
    if (this.done) return;
    this.finish(new HeraldError('disconnected', `connection lost: ${end.reason}`));
    this.ended(end);
  }

  protected finish(err: HeraldError): void {
    this.done = true;
    this.connected = false;
    this.watchdog?.stop();
    this.requests.failAll(err);
  }
}
