import { TERMINAL_CLOSE_CODES, type ReplyResults } from '@herald/protocol';
import { defaultBackoff, type Backoff } from './backoff.js';
import { Retry } from './retry.js';
import type { ConnectionState } from './connection-state.js';
import { DataLink, type DataRoute } from './data-link.js';
import { Emitter } from './emitter.js';
import { HeraldError } from './errors.js';
import type { LinkEnd } from './link.js';
import { networkUp, watchNetwork } from './network.js';
import { Outbox, type OutboxEvents, type OutboxItem, type OutboxOptions, type PublishResult } from './outbox.js';
import { resolveWebSocket, type WebSocketConstructor } from './socket.js';
import { defaultStorage, type KeyValueStorage } from './storage.js';
import { TokenProvider, type TokenSource } from './token-provider.js';

export interface RouteClientOptions<R> {
  /** The route's URL, e.g. `wss://host/api/v0.2/tasks/stream`; the token goes into `?token=`. */
  url: string;
  token: TokenSource;
  /** How the route resumes and beats: see DataRoute. */
  route: DataRoute;
  WebSocket?: WebSocketConstructor;
  /** When to retry after the link drops. Default: 1 s doubling to 30 s, forever. */
  backoff?: Backoff;
  /** How long to wait for a reply (e.g. to `lock`), in ms. Default 10 000. */
  requestTimeout?: number;
  /** Where the cursor is kept. Default `localStorage` in browsers, memory elsewhere. */
  storage?: KeyValueStorage;
  /** Prefix of the storage key. Default `herald`. */
  storagePrefix?: string;
  /**
   * The offline queue. With `deliver` (e.g. `httpDelivery(...)`), items go there, whatever the
   * link does; without, they are published on the gateway over the link.
   */
  outbox?: OutboxOptions & { deliver?: (item: OutboxItem) => Promise<R> };
  autoConnect?: boolean;
  watchNetwork?: boolean;
}

export interface RouteClientEvents<R> {
  status: ConnectionState;
  /** An app message, as the backend published it. */
  message: Record<string, unknown>;
  /** The gateway could not replay everything after the cursor (`{"type":"not_recovered",...}`): refetch. */
  gap: { reason: string; cursor: number } & Record<string, unknown>;
  'outbox:sent': OutboxEvents<R>['sent'];
  'outbox:evicted': OutboxEvents<R>['evicted'];
  'outbox:failed': OutboxEvents<R>['failed'];
  'outbox:stalled': OutboxEvents<R>['stalled'];
  error: HeraldError;
}

/** The token's `sub`, read without verifying it: only to keep each user's cursor apart. */
function tokenSubject(token: string): string {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const sub = (JSON.parse(atob(payload)) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : '';
  } catch {
    return '';
  }
}

/**
 * A client of a data route (`format: data`): the app's own messages, resumed by a field of them
 * (seed 004's `revision`). It sends the route's resume frame with the stored cursor on every
 * connect, keeps the largest value seen as the cursor, reconnects with backoff after the route's
 * missed pings or any drop, and queues the app's writes in its outbox.
 */
export class RouteClient<R = PublishResult> {
  readonly outbox: Outbox<R>;
  private readonly events = new Emitter<RouteClientEvents<R>>();
  private readonly WebSocketCtor: WebSocketConstructor;
  private readonly tokens: TokenProvider;
  private readonly retry: Retry;
  private readonly storage: KeyValueStorage;
  private readonly sharedLink: boolean;
  private current: ConnectionState;
  private link: DataLink | undefined;
  private storageKey = '';
  private cursorValue = 0;
  private everConnected = false;
  private generation = 0;
  private stopped: boolean;
  private unwatchNetwork: (() => void) | undefined;

  constructor(private readonly options: RouteClientOptions<R>) {
    this.WebSocketCtor = resolveWebSocket(options.WebSocket);
    this.tokens = new TokenProvider(options.token);
    this.retry = new Retry(options.backoff ?? defaultBackoff);
    this.storage = options.storage ?? defaultStorage();
    const deliver = options.outbox?.deliver;
    this.sharedLink = !deliver;
    this.outbox = new Outbox<R>(
      deliver ?? ((item) => this.request({ type: 'publish', channel: item.channel, event: item.event, data: item.data, idempotencyKey: item.key })),
      options.outbox,
    );
    for (const name of ['sent', 'evicted', 'failed', 'stalled'] as const) {
      this.outbox.on(name, (value) => this.events.emit(`outbox:${name}`, value as never));
    }
    // The app's API is reached without the link: its outbox runs from the start.
    if (!this.sharedLink) this.outbox.resume();
    const autoConnect = options.autoConnect ?? true;
    this.stopped = !autoConnect;
    this.current = { status: autoConnect ? 'connecting' : 'offline', attempt: 0, since: Date.now() };
    if (options.watchNetwork ?? true) {
      this.unwatchNetwork = watchNetwork({ online: () => !this.stopped && !this.link && this.reopen(), offline: () => this.link?.close('the network is offline') });
    }
    if (autoConnect) queueMicrotask(() => this.generation === 0 && !this.stopped && this.open());
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The largest resume field (`revision`) received; sent in the resume frame of the next connect. */
  get cursor(): number {
    return this.cursorValue;
  }

  on<K extends keyof RouteClientEvents<R>>(event: K, listener: (value: RouteClientEvents<R>[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  connect(): void {
    this.stopped = false;
    if (!this.link) this.reopen();
  }

  disconnect(reason = 'disconnected by the app'): void {
    this.stopped = true;
    this.generation += 1;
    this.retry.cancel();
    this.link?.close(reason);
    this.link = undefined;
    if (this.sharedLink) this.outbox.pause();
    this.setState({ status: 'offline', attempt: 0, reason });
  }

  close(): void {
    this.disconnect('closed by the app');
    this.outbox.pause();
    this.unwatchNetwork?.();
  }

  /** Takes a soft lock on a channel whose rule enables locks; the route's stream announces it to the others. */
  lock(channel: string, name: string): Promise<ReplyResults['lock']> {
    return this.request({ type: 'lock', channel, name });
  }

  unlock(channel: string, name: string): Promise<ReplyResults['unlock']> {
    return this.request({ type: 'unlock', channel, name });
  }

  private request<T>(frame: Parameters<DataLink['request']>[0]): Promise<T> {
    return this.link ? this.link.request<T>(frame) : Promise.reject(new HeraldError('disconnected', 'not connected'));
  }

  private setState(state: Omit<ConnectionState, 'since'>): void {
    this.current = { ...state, since: Date.now() };
    this.events.emit('status', this.current);
  }

  private reopen(): void {
    this.retry.reset();
    this.open();
  }

  private open(): void {
    const generation = ++this.generation;
    this.setState({ status: this.everConnected ? 'reconnecting' : 'connecting', attempt: this.retry.attempt });
    this.tokens.get().then(
      (token) => {
        if (generation !== this.generation) return;
        this.loadCursor(token);
        this.link = new DataLink(this.WebSocketCtor, this.options.url, token, this.options.route, this.cursorValue, this.options.requestTimeout ?? 10_000, {
          open: () => this.linkOnOpen(),
          message: (data) => this.linkOnMessage(data),
          notice: (frame) => this.linkOnNotice(frame),
          ended: (end) => this.linkOnEnded(generation, end),
        });
      },
      (err: unknown) => {
        if (generation !== this.generation) return;
        this.events.emit('error', new HeraldError('unauthorized', `the token provider failed: ${String(err)}`));
        this.linkOnEnded(generation, { reason: 'no token' });
      },
    );
  }

  private loadCursor(token: string): void {
    const url = new URL(this.options.url);
    this.storageKey = `${this.options.storagePrefix ?? 'herald'}:route:${url.host}${url.pathname}:${tokenSubject(token)}`;
    const stored = Number(this.storage.getItem(this.storageKey));
    this.cursorValue = Number.isFinite(stored) && stored > 0 ? stored : 0;
  }

  private linkOnOpen(): void {
    this.retry.reset();
    this.everConnected = true;
    this.setState({ status: 'connected', attempt: 0 });
    if (this.sharedLink) this.outbox.resume();
  }

  private linkOnMessage(data: Record<string, unknown>): void {
    const value = data[this.options.route.resume.field];
    if (typeof value === 'number' && value > this.cursorValue) {
      this.cursorValue = value;
      this.storage.setItem(this.storageKey, String(value));
    }
    this.events.emit('message', data);
  }

  private linkOnNotice(frame: { type: 'error' | 'not_recovered' } & Record<string, unknown>): void {
    if (frame.type === 'error') return this.events.emit('error', new HeraldError((frame.code as never) ?? 'bad_request', String(frame.message ?? 'error'), frame.field as string | undefined));
    const { type: _type, ...rest } = frame;
    this.events.emit('gap', { ...rest, reason: String(frame.reason), cursor: this.cursorValue });
  }

  private linkOnEnded(generation: number, end: LinkEnd): void {
    if (generation !== this.generation) return;
    this.link = undefined;
    if (this.sharedLink) this.outbox.pause();
    if (this.stopped) return;
    const base = { reason: end.reason, ...(end.code !== undefined ? { code: end.code } : {}) };
    if (end.code !== undefined && TERMINAL_CLOSE_CODES.includes(end.code)) return this.setState({ status: 'failed', attempt: this.retry.attempt, ...base });
    if ((this.options.watchNetwork ?? true) && !networkUp()) return this.setState({ status: 'offline', attempt: 0, ...base, reason: 'the network is offline' });
    const planned = this.retry.schedule(() => this.open());
    if (!planned) return this.setState({ status: 'failed', attempt: this.retry.attempt, ...base, reason: `gave up after ${this.retry.attempt} attempts: ${end.reason}` });
    this.setState({ status: this.everConnected ? 'reconnecting' : 'connecting', ...planned, ...base });
  }

}
