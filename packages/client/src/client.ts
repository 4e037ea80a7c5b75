import {
  channelNameProblem,
  CloseCode,
  eventNameProblem,
  TENANT_CHANNEL,
  TERMINAL_CLOSE_CODES,
  type ClientFrame,
  type ConnectedFrame,
  type PresenceUser,
  type Publication,
  type RecoverySince,
  type ReplyResults,
  type ServerFrame,
  type SubscribeResult,
} from '@herald/protocol';
import { defaultBackoff, type Backoff } from './backoff.js';
import { Retry } from './retry.js';
import type { ConnectionState, ConnectionStatus } from './connection-state.js';
import { CursorStore, RecentIds, type Cursor } from './dedup.js';
import { Emitter } from './emitter.js';
import { HeraldError, isDisconnect } from './errors.js';
import { Link, type LinkEnd } from './link.js';
import { networkUp, watchNetwork } from './network.js';
import { Outbox, type OutboxEvents, type OutboxOptions, type PublishResult } from './outbox.js';
import { RouteClient, type RouteClientOptions } from './route-client.js';
import { resolveWebSocket, type WebSocketConstructor } from './socket.js';
import { defaultStorage, type KeyValueStorage } from './storage.js';
import { ChannelSubscription, type EventMap, type EventPublication, type Gap, type SubscriptionHost } from './subscription.js';
import { TokenProvider, type TokenSource } from './token-provider.js';

export interface HeraldClientOptions {
  /** The gateway's WebSocket endpoint, e.g. `wss://events.example.com/ws`. */
  url: string;
  /** A token, or a callback returning a fresh one; a callback also keeps the connection's token refreshed. */
  token: TokenSource;
  /** The WebSocket constructor; default the global one. Node 20 has none: pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
  /** When to retry after the link drops. Default: 1 s doubling to 30 s, forever. See `seed000Backoff`, `seed003Backoff`. */
  backoff?: Backoff;
  /** Server pings missed before the link is declared dead and replaced. Default 2; 0 turns it off. */
  missedPings?: number;
  /** How long to wait for `connected` after opening the socket, in ms. Default 10 000. */
  connectTimeout?: number;
  /** How long to wait for a reply, in ms. Default 10 000. */
  requestTimeout?: number;
  /** How long before the token expires to refresh it, in ms (at most a quarter of its remaining life). Default 30 000. */
  refreshBefore?: number;
  /** Where channel cursors are kept. Default `localStorage` in browsers, memory elsewhere. */
  storage?: KeyValueStorage;
  /** Prefix of the storage keys. Default `herald`. */
  storagePrefix?: string;
  /** How many recent publication ids are remembered to drop duplicates. Default 1000. */
  dedupSize?: number;
  outbox?: OutboxOptions;
  /** Connect at once (on the next microtask, so listeners can be added first). Default true. */
  autoConnect?: boolean;
  /** In browsers, pause while offline and retry at once when the network comes back. Default true. */
  watchNetwork?: boolean;
}

/** Who the connection is, from the `connected` frame. */
export interface ConnectionInfo {
  connectionId: string;
  userId: string;
  tenant: string;
  roles: string[];
  /** When the connection's token expires, ms since epoch. */
  expiresAt?: number;
}

export interface HeraldClientEvents<E extends EventMap> {
  status: ConnectionState;
  connected: ConnectionInfo;
  /** Every publication of every subscribed channel, once, in each channel's order. */
  publication: EventPublication<E>;
  subscribed: { channel: string; result: SubscribeResult };
  /** Publications that could not be replayed: refetch the channel's state. */
  gap: Gap;
  join: { channel: string; user: PresenceUser };
  leave: { channel: string; user: PresenceUser };
  'user:online': Record<string, unknown>;
  'user:offline': Record<string, unknown>;
  'token:refreshed': { expiresAt?: number };
  /** A soft lock of a subscribed channel changed holder: `holder` is the user id, or null when released. */
  lock: { channel: string; name: string; holder: string | null; reason?: string };
  'outbox:sent': OutboxEvents['sent'];
  'outbox:evicted': OutboxEvents['evicted'];
  'outbox:failed': OutboxEvents['failed'];
  'outbox:stalled': OutboxEvents['stalled'];
  /** Something failed that no promise reports: a refused subscription, a failed token refresh, an `error` frame. */
  error: HeraldError;
}

export interface SubscribeOptions {
  /** Keep a live presence list (`subscription.presence`). */
  presence?: boolean;
  /** Start after this position instead of the stored cursor or the stream's end. */
  since?: Cursor;
}

/**
 * A connection to a Herald gateway that survives network loss: it reconnects with backoff,
 * resubscribes every channel from where it stopped, delivers each publication once and in
 * order, keeps the token fresh in band, and queues the app's own publications while offline.
 * `E` maps event names to their data types.
 */
export class HeraldClient<E extends EventMap = EventMap> {
  readonly outbox: Outbox;
  private readonly options: HeraldClientOptions;
  private readonly WebSocketCtor: WebSocketConstructor;
  private readonly retry: Retry;
  /** Subscriptions the server refused with "try again" (an engine outage), and when they retry. */
  private readonly subscribeRetries = new Map<ChannelSubscription<E>, Retry>();
  private readonly tokens: TokenProvider;
  /** The last connection the server confirmed; a reconnect names it (ConnectFrame.replaces). */
  private lastConnectionId: string | undefined;
  private readonly events = new Emitter<HeraldClientEvents<E>>();
  private readonly subs = new Map<string, ChannelSubscription<E>>();
  private readonly recent: RecentIds;
  private readonly cursors: CursorStore;
  private readonly host: SubscriptionHost;
  private current: ConnectionState;
  private link: Link | undefined;
  private info: ConnectionInfo | undefined;
  private everConnected = false;
  /** Bumped by every open and stop, so late answers from an abandoned attempt are ignored. */
  private generation = 0;
  private stopped: boolean;
  private closed = false;
  /** An attempt is waiting for its token, before it has a link. */
  private fetchingToken = false;
  private unwatchNetwork: (() => void) | undefined;

  constructor(options: HeraldClientOptions) {
    this.options = options;
    this.WebSocketCtor = resolveWebSocket(options.WebSocket);
    this.retry = new Retry(options.backoff ?? defaultBackoff);
    this.tokens = new TokenProvider(options.token, options.refreshBefore);
    this.recent = new RecentIds(options.dedupSize);
    this.cursors = new CursorStore(options.storage ?? defaultStorage(), options.storagePrefix);
    this.outbox = new Outbox((item) => this.call<PublishResult>({ type: 'publish', channel: item.channel, event: item.event, data: item.data, idempotencyKey: item.key }), options.outbox);
    for (const name of ['sent', 'evicted', 'failed', 'stalled'] as const) {
      this.outbox.on(name, (value) => this.events.emit(`outbox:${name}`, value as never));
    }
    this.host = {
      firstSeen: (channel, id) => this.recent.add(`${channel}\n${id}`),
      saveCursor: (channel, cursor) => this.info && this.cursors.write(this.scope(), channel, cursor),
      unsubscribe: (channel) => this.unsubscribe(channel),
      resubscribe: (channel) => {
        const sub = this.subs.get(channel);
        if (sub && sub.status === 'failed') this.sendSubscribe(sub);
      },
    };
    const autoConnect = options.autoConnect ?? true;
    this.stopped = !autoConnect;
    this.current = { status: autoConnect ? 'connecting' : 'offline', attempt: 0, since: Date.now(), ...(autoConnect ? {} : { reason: 'not connected yet' }) };
    // Browsers: wait quietly while offline, retry at once when the network returns.
    if (options.watchNetwork ?? true) this.unwatchNetwork = watchNetwork({ online: () => this.networkOnOnline(), offline: () => this.networkOnOffline() });
    if (autoConnect) queueMicrotask(() => this.generation === 0 && !this.stopped && this.open());
  }

  /** The connection state now; `status` events report each change. */
  get state(): ConnectionState {
    return this.current;
  }

  get status(): ConnectionStatus {
    return this.current.status;
  }

  /** Who the connection is, while connected. */
  get connection(): ConnectionInfo | undefined {
    return this.info;
  }

  on<K extends keyof HeraldClientEvents<E>>(event: K, listener: (value: HeraldClientEvents<E>[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  once<K extends keyof HeraldClientEvents<E>>(event: K, listener: (value: HeraldClientEvents<E>[K]) => void): () => void {
    return this.events.once(event, listener);
  }

  off<K extends keyof HeraldClientEvents<E>>(event: K, listener: (value: HeraldClientEvents<E>[K]) => void): void {
    this.events.off(event, listener);
  }

  /** Resolves once connected (at once if already); rejects if the client fails or is closed first. */
  whenConnected(): Promise<ConnectionInfo> {
    if (this.info && this.current.status === 'connected') return Promise.resolve(this.info);
    return new Promise((resolve, reject) => {
      const offConnected = this.events.on('connected', (info) => {
        offStatus();
        offConnected();
        resolve(info);
      });
      const offStatus = this.events.on('status', (state) => {
        if (state.status !== 'failed' && !(state.status === 'offline' && this.stopped)) return;
        offStatus();
        offConnected();
        reject(new HeraldError(this.closed ? 'closed' : 'unavailable', state.reason ?? state.status));
      });
    });
  }

  /** Connects, or reconnects at once from `offline` or `failed`. */
  connect(): void {
    if (this.closed) throw new HeraldError('closed', 'the client is closed');
    this.stopped = false;
    if (this.link || this.fetchingToken) return;
    this.retry.reset();
    this.open();
  }

  /** Closes the connection and stays `offline` until `connect()`. Subscriptions and the outbox are kept. */
  disconnect(reason = 'disconnected by the app'): void {
    this.stopped = true;
    this.generation += 1;
    this.fetchingToken = false;
    this.retry.cancel();
    const link = this.link;
    this.link = undefined;
    link?.close(reason);
    this.linkDown();
    this.setState({ status: 'offline', reason, attempt: 0 });
  }

  /** Disconnects for good and releases timers and listeners. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const retry of this.subscribeRetries.values()) retry.cancel();
    this.subscribeRetries.clear();
    this.disconnect('closed by the app');
    this.unwatchNetwork?.();
  }

  /**
   * Subscribes to a channel, now and after every reconnect, resuming after the last publication
   * delivered (or the cursor stored by an earlier page). Returns the existing subscription when
   * there is one.
   */
  subscribe(channel: string, options: SubscribeOptions = {}): ChannelSubscription<E> {
    const problem = channelNameProblem(channel);
    if (problem) throw new HeraldError('invalid_channel', problem, 'channel');
    let sub = this.subs.get(channel);
    if (sub) return sub;
    sub = new ChannelSubscription<E>(channel, this.host, options);
    this.subs.set(channel, sub);
    if (this.link?.connected) this.sendSubscribe(sub);
    return sub;
  }

  subscription(channel: string): ChannelSubscription<E> | undefined {
    return this.subs.get(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    const sub = this.subs.get(channel);
    if (!sub) return;
    this.subs.delete(channel);
    this.cancelSubscribeRetry(sub);
    sub.status = 'unsubscribed';
    if (this.info) this.cursors.remove(this.scope(), channel);
    if (!this.link?.connected) return;
    await this.call({ type: 'unsubscribe', channel }).catch((err: HeraldError) => {
      if (!isDisconnect(err) && err.code !== 'not_subscribed') throw err;
    });
  }

  /**
   * Publishes from the client through the outbox: sent now when connected, else queued and
   * sent after the reconnect. Resolves when the server has accepted it.
   */
  publish<K extends keyof E & string>(channel: string, event: K, data: E[K], options: { idempotencyKey?: string } = {}): Promise<PublishResult> {
    const problem = channelNameProblem(channel) ?? eventNameProblem(event);
    if (problem) return Promise.reject(new HeraldError('bad_request', problem, problem.startsWith('channel') ? 'channel' : 'event'));
    return this.outbox.enqueue(channel, event, data, options.idempotencyKey);
  }

  /** Who is in a channel now (one request; for a live list subscribe with `presence: true`). */
  async presence(channel: string): Promise<PresenceUser[]> {
    return (await this.call<ReplyResults['presence']>({ type: 'presence', channel })).users;
  }

  /**
   * Sends an ephemeral signal (typing, editing) now, bypassing the outbox: a signal that cannot
   * go out at once is stale, so it is refused while offline rather than queued. On channels whose
   * rule maps the event in `signals`, the server sends the matching end event should this
   * connection end first.
   */
  signal<K extends keyof E & string>(channel: string, event: K, data: E[K]): Promise<PublishResult> {
    return this.call({ type: 'publish', channel, event, data });
  }

  /**
   * Takes a soft lock on a channel whose rule enables locks (editing a record, say). The server
   * keeps it while this connection lives and releases it when the connection ends; after a
   * reconnect, take it again. `acquired: false` names the current holder.
   */
  lock(channel: string, name: string): Promise<ReplyResults['lock']> {
    return this.call({ type: 'lock', channel, name });
  }

  unlock(channel: string, name: string): Promise<ReplyResults['unlock']> {
    return this.call({ type: 'unlock', channel, name });
  }

  /**
   * Cancels the channel's open streams (an LLM answer, a validation run), or only `streamId`,
   * where the channel's rule lets this user; resolves with the ids cancelled (docs/streams.md).
   */
  cancel(channel: string, streamId?: string): Promise<ReplyResults['cancel']> {
    return this.call({ type: 'cancel', channel, ...(streamId !== undefined ? { streamId } : {}) });
  }

  /** A channel's stored publications: the latest `limit`, or those after `since`. */
  history(channel: string, options: { limit?: number; since?: RecoverySince } = {}): Promise<ReplyResults['history']> {
    return this.call({ type: 'history', channel, ...options });
  }

  private call<T>(frame: Exclude<ClientFrame, { type: 'pong' }>): Promise<T> {
    if (!this.link) return Promise.reject(new HeraldError('disconnected', 'not connected'));
    return this.link.request<T>(frame);
  }

  private scope(): string {
    return `${this.info!.tenant}:${this.info!.userId}`;
  }

  private setState(state: Omit<ConnectionState, 'since'>): void {
    this.current = { ...state, since: Date.now() };
    this.events.emit('status', this.current);
  }

  private open(): void {
    const generation = ++this.generation;
    this.link?.close('replaced by a new attempt');
    this.link = undefined;
    const status = this.everConnected ? 'reconnecting' : 'connecting';
    const { reason, code } = this.current;
    this.setState({ status, attempt: this.retry.attempt, ...(reason !== undefined && status === 'reconnecting' ? { reason } : {}), ...(code !== undefined ? { code } : {}) });
    this.fetchingToken = true;
    this.tokens.get().then(
      (token) => {
        if (generation !== this.generation) return;
        this.fetchingToken = false;
        this.link = new Link(
          this.WebSocketCtor,
          this.options.url,
          token,
          {
            connectTimeout: this.options.connectTimeout ?? 10_000,
            requestTimeout: this.options.requestTimeout ?? 10_000,
            missedPings: this.options.missedPings ?? 2,
          },
          {
            connected: (frame) => this.linkOnConnected(frame),
            frame: (frame) => this.linkOnFrame(frame),
            ended: (end) => this.linkOnEnded(generation, end),
          },
          // The server may not have noticed the last connection end (a network cut): this one takes its place.
          this.lastConnectionId,
        );
      },
      (err: unknown) => {
        if (generation !== this.generation) return;
        this.fetchingToken = false;
        this.events.emit('error', new HeraldError('unauthorized', `the token provider failed: ${String(err)}`));
        this.linkOnEnded(generation, { reason: 'no token' });
      },
    );
  }

  private linkOnConnected(frame: ConnectedFrame): void {
    this.info = {
      connectionId: frame.connectionId,
      userId: frame.userId,
      tenant: frame.tenant,
      roles: frame.roles,
      ...(frame.expiresAt !== undefined ? { expiresAt: frame.expiresAt } : {}),
    };
    this.lastConnectionId = frame.connectionId;
    this.retry.reset();
    this.everConnected = true;
    this.setState({ status: 'connected', attempt: 0 });
    this.events.emit('connected', this.info);
    if (frame.expiresAt !== undefined) this.tokens.schedule(frame.expiresAt, () => void this.refreshToken());
    for (const sub of this.subs.values()) {
      if (sub.status === 'failed') continue;
      this.cancelSubscribeRetry(sub);
      this.sendSubscribe(sub);
    }
    this.outbox.resume();
  }

  private linkOnFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'pub': {
        const { type: _type, state, ...publication } = frame;
        if (publication.channel === TENANT_CHANNEL) {
          if (publication.event === 'user:online' || publication.event === 'user:offline') {
            this.events.emit(publication.event, publication.data as Record<string, unknown>);
          }
          return;
        }
        const sub = this.subs.get(publication.channel);
        if (state) {
          if (sub?.status === 'subscribed') sub.receiveState(publication as Publication);
          return;
        }
        if (sub?.status === 'subscribed' && sub.receive(publication as Publication)) {
          this.events.emit('publication', publication as EventPublication<E>);
          if (publication.event === 'lock:acquired' || publication.event === 'lock:released') {
            const d = publication.data as { name: string; userId: string; reason?: string };
            this.events.emit('lock', { channel: publication.channel, name: d.name, holder: publication.event === 'lock:acquired' ? d.userId : null, ...(d.reason ? { reason: d.reason } : {}) });
          }
        }
        return;
      }
      case 'join':
      case 'leave': {
        const presence = this.subs.get(frame.channel)?.presence;
        if (frame.type === 'join') presence?.join(frame.user);
        else presence?.leave(frame.user);
        this.events.emit(frame.type, { channel: frame.channel, user: frame.user });
        return;
      }
      case 'error':
        this.events.emit('error', HeraldError.fromBody(frame));
        return;
    }
  }

  private linkOnEnded(generation: number, end: LinkEnd): void {
    if (generation !== this.generation) return;
    const wasConnected = this.current.status === 'connected';
    this.link = undefined;
    this.linkDown();
    if (this.stopped) return;
    const code = end.code;
    const base = { reason: end.reason, ...(code !== undefined ? { code } : {}) };
    if (code !== undefined && TERMINAL_CLOSE_CODES.includes(code)) {
      return this.setState({ status: 'failed', attempt: this.retry.attempt, ...base });
    }
    if (code === CloseCode.TokenExpired && this.tokens.refreshable && wasConnected) {
      // The token ran out before a refresh landed: fetch a new one and come straight back.
      this.setState({ status: 'reconnecting', attempt: 0, ...base });
      return this.open();
    }
    if (!this.networkUp()) return this.setState({ status: 'offline', attempt: 0, ...base, reason: 'the network is offline' });
    const planned = this.retry.schedule(() => this.open());
    if (!planned) return this.setState({ status: 'failed', attempt: this.retry.attempt, ...base, reason: `gave up after ${this.retry.attempt} attempts: ${end.reason}` });
    this.setState({ status: this.everConnected ? 'reconnecting' : 'connecting', ...planned, ...base });
  }

  /** What every end of a link shares, whoever ended it. */
  private linkDown(): void {
    this.info = undefined;
    this.tokens.cancel();
    this.outbox.pause();
    for (const sub of this.subs.values()) if (sub.status === 'subscribed') sub.status = 'pending';
  }

  private sendSubscribe(sub: ChannelSubscription<E>): void {
    const link = this.link;
    if (!link?.connected || !this.info) return;
    sub.status = 'pending';
    sub.position ??= this.cursors.read(this.scope(), sub.channel);
    const since = sub.since();
    link
      .request<SubscribeResult>({ type: 'subscribe', channel: sub.channel, ...(since ? { since } : {}) }, (result) => {
        // Runs before the replayed publications that follow the reply are handled.
        if (this.subs.get(sub.channel) !== sub) return;
        this.cancelSubscribeRetry(sub);
        const gap = sub.subscribed(result);
        this.events.emit('subscribed', { channel: sub.channel, result });
        if (gap) this.events.emit('gap', gap);
      })
      .then(async () => {
        if (sub.presence && this.subs.get(sub.channel) === sub) sub.presence.reset(await this.presence(sub.channel));
      })
      .catch((err: HeraldError) => {
        if (isDisconnect(err) || this.subs.get(sub.channel) !== sub) return;
        if (sub.status !== 'subscribed' && !(err.code === 'unavailable' && this.retrySubscribe(sub))) sub.failed(err);
        this.events.emit('error', err);
      });
  }

  /**
   * The server could not subscribe now but says a retry may work (its engine is down or failing
   * over): tries again on the client's backoff while the subscription stays `pending`. False when
   * the backoff has given up.
   */
  private retrySubscribe(sub: ChannelSubscription<E>): boolean {
    let retry = this.subscribeRetries.get(sub);
    if (!retry) this.subscribeRetries.set(sub, (retry = new Retry(this.options.backoff ?? defaultBackoff)));
    const planned = retry.schedule(() => {
      if (this.subs.get(sub.channel) === sub && sub.status === 'pending') this.sendSubscribe(sub);
    });
    if (!planned) this.subscribeRetries.delete(sub);
    return planned !== undefined;
  }

  private cancelSubscribeRetry(sub: ChannelSubscription<E>): void {
    this.subscribeRetries.get(sub)?.cancel();
    this.subscribeRetries.delete(sub);
  }

  private async refreshToken(): Promise<void> {
    const link = this.link;
    const expiresAt = this.info?.expiresAt;
    try {
      const token = await this.tokens.get();
      const result = await this.call<ReplyResults['refresh']>({ type: 'refresh', token });
      if (link !== this.link || !this.info) return;
      const { expiresAt: _previous, ...info } = this.info;
      this.info = { ...info, ...(result.expiresAt !== undefined ? { expiresAt: result.expiresAt } : {}) };
      if (result.expiresAt !== undefined) this.tokens.schedule(result.expiresAt, () => void this.refreshToken());
      this.events.emit('token:refreshed', result);
    } catch (err) {
      if (link !== this.link || isDisconnect(err)) return;
      this.events.emit('error', err instanceof HeraldError ? err : new HeraldError('unauthorized', `token refresh failed: ${String(err)}`));
      if (expiresAt !== undefined) this.tokens.retry(expiresAt, () => void this.refreshToken());
    }
  }


  private networkUp(): boolean {
    return !(this.options.watchNetwork ?? true) || networkUp();
  }

  private networkOnOnline(): void {
    if (this.stopped || this.link?.connected) return;
    const { status, code } = this.current;
    if (status === 'failed' && code !== undefined && TERMINAL_CLOSE_CODES.includes(code)) return;
    this.retry.reset();
    this.open();
  }

  private networkOnOffline(): void {
    if (this.stopped || this.link?.connected) return;
    this.retry.cancel();
    // Abandon an attempt under way: it cannot succeed, and `online` starts a fresh one.
    this.generation += 1;
    this.fetchingToken = false;
    this.link?.close('the network is offline');
    this.link = undefined;
    this.setState({ status: 'offline', attempt: 0, reason: 'the network is offline' });
  }
}

/**
 * Creates a client and connects it: a HeraldClient for the native protocol (`/ws`), or, with a
 * `route` option, a RouteClient for a data route that sends the app's own messages.
 *
 * @example
 * type Events = { 'schedule:updated': { employeeId: string } };
 * const client = createHeraldClient<Events>({ url: 'wss://rt.example.com/ws', token: () => auth.getToken() });
 * client.on('status', (state) => (dot.style.background = indicatorColor(state)));
 * client.subscribe('schedules').on('schedule:updated', (data) => refresh(data.employeeId));
 *
 * @example
 * const tasks = createHeraldClient({
 *   url: 'wss://rt.example.com/api/v0.2/tasks/stream',
 *   token: () => auth.getToken(),
 *   route: { resume: { frame: 'HELLO', field: 'revision' }, heartbeat: { interval: 30_000, missedPings: 2 } },
 * });
 * tasks.on('message', (message) => apply(message));
 */
export function createHeraldClient<R = PublishResult>(options: RouteClientOptions<R>): RouteClient<R>;
export function createHeraldClient<E extends EventMap = EventMap>(options: HeraldClientOptions): HeraldClient<E>;
export function createHeraldClient(options: HeraldClientOptions | RouteClientOptions<unknown>): HeraldClient | RouteClient<unknown> {
  return 'route' in options ? new RouteClient(options) : new HeraldClient(options);
}
