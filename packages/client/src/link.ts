import { decodeServerFrame, type ConnectedFrame, type ServerFrame } from '@herald/protocol';
import type { HeraldError } from './errors.js';
import { SocketLink, type LinkEnd } from './socket-link.js';
import type { WebSocketConstructor } from './socket.js';
import { Watchdog } from './watchdog.js';

export type { LinkEnd } from './socket-link.js';

export interface LinkOptions {
  connectTimeout: number;
  requestTimeout: number;
  /** Missed server pings before the link is declared dead; 0 turns the watchdog off. */
  missedPings: number;
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
export class Link extends SocketLink {
  private readonly connectTimer: ReturnType<typeof setTimeout>;

  constructor(
    WebSocketCtor: WebSocketConstructor,
    url: string,
    token: string,
    private readonly options: LinkOptions,
    private readonly handlers: LinkHandlers,
    /** The previous connection's id on a reconnect: the server closes it if it still holds it. */
    replaces?: string,
  ) {
    super(WebSocketCtor, url, options.requestTimeout, (end) => handlers.ended(end));
    this.socket.onopen = () => this.send({ type: 'connect', token, ...(replaces !== undefined ? { replaces } : {}) });
    this.connectTimer = setTimeout(() => this.abort(`not connected within ${options.connectTimeout} ms`), options.connectTimeout);
  }

  protected socketOnMessage(data: unknown): void {
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

  protected override finish(err: HeraldError): void {
    super.finish(err);
    clearTimeout(this.connectTimer);
  }
}
