import type { ReplyFrame } from '@herald/protocol';
import { SocketLink, type LinkEnd } from './socket-link.js';
import { sendIfOpen, type WebSocketConstructor } from './socket.js';
import { Watchdog } from './watchdog.js';

/**
 * A route that sends the app's own JSON (a `format: data` route): how the client resumes on it
 * and how often the server pings. Described once, in the client's `route` option.
 *
 * @example
 * // examples/homeplanner: `?token=`, then {"type":"HELLO","revision":N}; pings every 30 s, 2 missed end the link.
 * const route = { resume: { frame: 'HELLO', field: 'revision' }, heartbeat: { interval: 30_000, missedPings: 2 } };
 */
export interface DataRoute {
  /** The first frame, `{type: frame, [field]: cursor}`; the cursor is the largest `field` of the messages received (0 at first). */
  resume: { frame: string; field: string };
  /** The route's heartbeat: `interval` as the gateway's `heartbeat.interval`, `missedPings` as the route's. */
  heartbeat: { interval: number; missedPings: number };
}

export interface DataLinkHandlers {
  /** An app message (anything but the gateway's own `ping`, `pong`, `reply`, `error`, `not_recovered`). */
  message(data: Record<string, unknown>): void;
  /** The gateway's `error` or `not_recovered` frame. */
  notice(frame: { type: 'error' | 'not_recovered' } & Record<string, unknown>): void;
  /** Called once, however the link ends, unless the client closed it. */
  ended(end: LinkEnd): void;
}

const NOTICES = new Set(['error', 'not_recovered']);

/**
 * One WebSocket connection to a data route: the token in the URL, the resume frame as soon as
 * the socket opens, pings answered, replies matched to requests (`lock` works here too), and
 * the route's heartbeat rule watched. Reconnecting is the client's business.
 */
export class DataLink extends SocketLink {
  constructor(
    WebSocketCtor: WebSocketConstructor,
    url: string,
    token: string,
    route: DataRoute,
    cursor: number,
    requestTimeout: number,
    private readonly handlers: DataLinkHandlers & { open(): void },
  ) {
    const withToken = new URL(url);
    withToken.searchParams.set('token', token);
    super(WebSocketCtor, withToken.toString(), requestTimeout, (end) => handlers.ended(end));
    const watchdog = new Watchdog({
      interval: route.heartbeat.interval,
      missed: route.heartbeat.missedPings,
      probe: () => this.send({ type: 'ping' }),
      dead: (silent) => this.abort(`no ping from the server for ${silent} ms`),
    });
    this.watchdog = watchdog;
    this.socket.onopen = () => {
      this.connected = true;
      sendIfOpen(this.socket, JSON.stringify({ type: route.resume.frame, [route.resume.field]: cursor }));
      watchdog.start();
      handlers.open();
    };
  }

  protected socketOnMessage(data: unknown): void {
    if (this.done || typeof data !== 'string') return;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    this.watchdog?.touch();
    const message = value as Record<string, unknown>;
    const type = message.type;
    if (type === 'ping') return void this.send({ type: 'pong' });
    if (type === 'pong') return;
    if (type === 'reply' && typeof message.id === 'number') return this.requests.settle(message as unknown as ReplyFrame);
    if (typeof type === 'string' && NOTICES.has(type)) return this.handlers.notice(message as { type: 'error' | 'not_recovered' });
    this.handlers.message(message);
  }
}
