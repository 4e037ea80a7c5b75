import type { Publication } from '@herald/protocol';
import { BRIDGE_TAG, isBridgeMessage, strictOrigin, type FrameMessageBody, type ParentMessage } from './bridge-messages.js';
import type { ConnectionState, ConnectionStatus } from './connection-state.js';
import { RecentIds } from './dedup.js';
import { Emitter } from './emitter.js';
import { HeraldError } from './errors.js';
import { randomKey } from './ids.js';
import type { PublishResult } from './outbox.js';
import { ChannelSubscription, type EventMap, type EventPublication, type Gap, type SubscriptionHost } from './subscription.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface FrameClientOptions {
  /** The parent page's origin, exactly. Messages from any other origin are ignored. */
  parentOrigin: string;
  /** The parent window; default `window.parent`. */
  parent?: Window;
  /** How long a publish waits for the parent's answer, in ms. Default 30 000. */
  requestTimeout?: number;
}

export interface FrameClientEvents<E extends EventMap> {
  /** The parent's connection state. */
  status: ConnectionState;
  publication: EventPublication<E>;
  gap: Gap;
  error: HeraldError;
}

/** The iframe side of a bridge: the subscribe API of `HeraldClient`, over the parent's connection. */
export interface FrameClient<E extends EventMap = EventMap> {
  readonly state: ConnectionState;
  readonly status: ConnectionStatus;
  on<K extends keyof FrameClientEvents<E>>(event: K, listener: (value: FrameClientEvents<E>[K]) => void): () => void;
  subscribe(channel: string): ChannelSubscription<E>;
  unsubscribe(channel: string): Promise<void>;
  publish<K extends keyof E & string>(channel: string, event: K, data: E[K], options?: { idempotencyKey?: string }): Promise<PublishResult>;
  close(): void;
}

/**
 * Inside an iframe: receives what the parent page's `createIframeBridge` shares, with the same
 * subscription objects a `HeraldClient` returns.
 *
 * @example
 * const herald = createFrameClient({ parentOrigin: 'https://portal.example.com' });
 * herald.subscribe('notifications').on('notification:new', (n) => toast(n.title));
 */
export function createFrameClient<E extends EventMap = EventMap>(options: FrameClientOptions): FrameClient<E> {
  const parentOrigin = strictOrigin(options.parentOrigin, 'parentOrigin');
  const parent = options.parent ?? globalThis.parent;
  const requestTimeout = options.requestTimeout ?? 30_000;
  const events = new Emitter<FrameClientEvents<E>>();
  const subs = new Map<string, ChannelSubscription<E>>();
  const recent = new RecentIds();
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: HeraldError): void; timer: ReturnType<typeof setTimeout> }>();
  let nextId = 1;
  /** Subscribes wait for the parent's welcome. */
  let welcomed = false;
  const session = randomKey();
  /** Channels with a subscribe awaiting the parent's answer. */
  const inFlight = new Set<string>();
  let state: ConnectionState = { status: 'connecting', reason: 'waiting for the parent page', attempt: 0, since: Date.now() };

  const post = (message: FrameMessageBody): void => parent.postMessage({ ...message, tag: BRIDGE_TAG }, parentOrigin);

  /** Sends a message that the parent answers with a `reply` carrying its id. */
  const request = <T>(message: DistributiveOmit<Extract<FrameMessageBody, { id: number }>, 'id'>): Promise<T> => {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new HeraldError('timeout', `the parent page did not answer within ${requestTimeout} ms`));
      }, requestTimeout);
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      post({ ...message, id } as FrameMessageBody);
    });
  };

  const sendSubscribe = (sub: ChannelSubscription<E>): void => {
    if (inFlight.has(sub.channel)) return;
    sub.status = 'pending';
    inFlight.add(sub.channel);
    request({ kind: 'subscribe', channel: sub.channel })
      .catch((err: HeraldError) => {
        if (subs.get(sub.channel) !== sub) return;
        sub.failed(err);
        events.emit('error', err);
      })
      .finally(() => inFlight.delete(sub.channel));
  };

  const host: SubscriptionHost = {
    firstSeen: (channel, id) => recent.add(`${channel}\n${id}`),
    saveCursor: () => {},
    unsubscribe: (channel) => client.unsubscribe(channel),
    resubscribe: (channel) => {
      const sub = subs.get(channel);
      if (sub?.status === 'failed') sendSubscribe(sub);
    },
  };

  const setState = (next: ConnectionState) => {
    state = next;
    events.emit('status', state);
  };

  const windowOnMessage = (event: MessageEvent): void => {
    if (event.origin !== parentOrigin || event.source !== parent || !isBridgeMessage(event.data)) return;
    const message = event.data as ParentMessage;
    switch (message.kind) {
      case 'hello':
        return post({ kind: 'hello', session });
      case 'welcome':
        welcomed = true;
        setState(message.state);
        for (const sub of subs.values()) if (sub.status === 'pending') sendSubscribe(sub);
        return;
      case 'status':
        return setState(message.state);
      case 'subscribed':
        subs.get(message.channel)?.subscribed(message.result);
        return;
      case 'pub': {
        const sub = subs.get(message.publication.channel);
        if (sub?.status === 'subscribed' && sub.receive(message.publication as Publication)) {
          events.emit('publication', message.publication as EventPublication<E>);
        }
        return;
      }
      case 'gap': {
        const sub = subs.get(message.gap.channel);
        if (!sub) return;
        sub.reportGap(message.gap);
        events.emit('gap', message.gap);
        return;
      }
      case 'reply': {
        const entry = pending.get(message.id);
        if (!entry) return;
        pending.delete(message.id);
        clearTimeout(entry.timer);
        if (message.error) entry.reject(new HeraldError(message.error.code as HeraldError['code'], message.error.message));
        else entry.resolve(message.result);
        return;
      }
    }
  };

  globalThis.addEventListener('message', windowOnMessage);

  const client: FrameClient<E> = {
    get state() {
      return state;
    },
    get status() {
      return state.status;
    },
    on: (event, listener) => events.on(event, listener),
    subscribe(channel) {
      let sub = subs.get(channel);
      if (sub) return sub;
      sub = new ChannelSubscription<E>(channel, host);
      subs.set(channel, sub);
      if (welcomed) sendSubscribe(sub);
      return sub;
    },
    async unsubscribe(channel) {
      const sub = subs.get(channel);
      if (!sub) return;
      subs.delete(channel);
      sub.status = 'unsubscribed';
      post({ kind: 'unsubscribe', channel });
    },
    publish(channel, event, data, publishOptions = {}) {
      return request<PublishResult>({ kind: 'publish', channel, event, data, idempotencyKey: publishOptions.idempotencyKey ?? randomKey() });
    },
    close() {
      globalThis.removeEventListener('message', windowOnMessage);
      for (const entry of pending.values()) {
        clearTimeout(entry.timer);
        entry.reject(new HeraldError('closed', 'the frame client was closed'));
      }
      pending.clear();
      subs.clear();
      events.removeAll();
    },
  };
  post({ kind: 'hello', session });
  return client;
}
