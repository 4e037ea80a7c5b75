import { BRIDGE_TAG, channelAllowed, isBridgeMessage, strictOrigin, type FrameMessage, type ParentMessageBody } from './bridge-messages.js';
import type { HeraldClient } from './client.js';
import { HeraldError } from './errors.js';
import type { EventMap } from './subscription.js';

export interface IframeBridgeOptions {
  /** The iframe element (or its window) to serve. */
  frame: HTMLIFrameElement | Window;
  /** The iframe's origin, exactly, e.g. `https://reports.example.com`. Messages from any other origin are ignored. */
  origin: string;
  /** Channels the iframe may subscribe to: names, or prefixes ending in `*`. */
  channels: string[];
  /** Forward only these events; default all events of the allowed channels. */
  events?: string[];
  /** Channels the iframe may publish to through the parent's connection; default none. */
  publish?: string[];
}

export interface IframeBridge {
  close(): void;
}

/**
 * Shares the parent page's connection with one embedded iframe: the channels and events it
 * allows are forwarded with `postMessage` to the iframe's exact origin, and only messages from
 * that origin and that frame are heard. Inside the iframe, `createFrameClient` offers the usual
 * subscribe API.
 *
 * @example
 * createIframeBridge(client, { frame: document.querySelector('iframe#reports')!, origin: 'https://reports.example.com', channels: ['notifications'], events: ['notification:new'] });
 */
export function createIframeBridge<E extends EventMap>(client: HeraldClient<E>, options: IframeBridgeOptions): IframeBridge {
  const origin = strictOrigin(options.origin, 'origin');
  const frameWindow = (): Window | null => ('contentWindow' in options.frame ? options.frame.contentWindow : options.frame);
  const events = options.events ? new Set(options.events) : undefined;
  /** Channels the iframe subscribed to and was answered for. */
  const live = new Set<string>();
  /** Subscriptions the bridge made itself, undone on close. */
  const created = new Set<string>();
  const cleanups: (() => void)[] = [];
  /** The iframe page's session, from its hello; until then only greetings are sent. */
  let session: string | undefined;

  const post = (message: ParentMessageBody): void => {
    if (session === undefined && message.kind !== 'hello') return;
    frameWindow()?.postMessage({ ...message, tag: BRIDGE_TAG }, origin);
  };

  const subscribe = (id: number, channel: string): void => {
    if (!channelAllowed(options.channels, channel)) {
      return post({ kind: 'reply', id, error: { code: 'forbidden', message: `the parent page does not share ${channel}` } });
    }
    if (!client.subscription(channel)) created.add(channel);
    const sub = client.subscribe(channel);
    const answer = () => {
      live.add(channel);
      const position = sub.position ?? { epoch: '', offset: 0 };
      post({ kind: 'subscribed', channel, result: { channel, epoch: position.epoch, offset: position.offset } });
      post({ kind: 'reply', id, result: {} });
    };
    if (sub.status === 'subscribed') return answer();
    const offSubscribed = sub.onSubscribed(() => {
      offSubscribed();
      offError();
      answer();
    });
    const offError = sub.onError((err) => {
      offSubscribed();
      offError();
      post({ kind: 'reply', id, error: { code: err.code, message: err.message } });
    });
  };

  const publish = (message: Extract<FrameMessage, { kind: 'publish' }>): void => {
    const { id, channel } = message;
    if (!channelAllowed(options.publish ?? [], channel)) {
      return post({ kind: 'reply', id, error: { code: 'forbidden', message: `the parent page does not publish to ${channel} for this frame` } });
    }
    client
      .publish(channel, message.event, message.data as E[keyof E & string], message.idempotencyKey ? { idempotencyKey: message.idempotencyKey } : {})
      .then(
        (result) => post({ kind: 'reply', id, result }),
        (err: unknown) => post({ kind: 'reply', id, error: err instanceof HeraldError ? { code: err.code, message: err.message } : { code: 'internal', message: String(err) } }),
      );
  };

  const windowOnMessage = (event: MessageEvent): void => {
    // Both checks: the origin says who, the source says which frame (another frame of the same origin is not this one).
    if (event.origin !== origin || event.source !== frameWindow() || !isBridgeMessage(event.data)) return;
    const message = event.data as FrameMessage;
    switch (message.kind) {
      case 'hello':
        if (typeof message.session !== 'string') return;
        // A new page in the frame starts from nothing; the same page greeting twice keeps its subscriptions.
        if (message.session !== session) live.clear();
        session = message.session;
        return post({ kind: 'welcome', state: client.state });
      case 'subscribe':
        if (typeof message.channel === 'string' && typeof message.id === 'number') subscribe(message.id, message.channel);
        return;
      case 'unsubscribe':
        live.delete(message.channel);
        return;
      case 'publish':
        if (typeof message.channel === 'string' && typeof message.event === 'string' && typeof message.id === 'number') publish(message);
        return;
    }
  };

  globalThis.addEventListener('message', windowOnMessage);
  cleanups.push(() => globalThis.removeEventListener('message', windowOnMessage));
  cleanups.push(client.on('status', (state) => post({ kind: 'status', state })));
  cleanups.push(
    client.on('publication', (publication) => {
      if (live.has(publication.channel) && (!events || events.has(publication.event))) post({ kind: 'pub', publication });
    }),
  );
  cleanups.push(client.on('gap', (gap) => live.has(gap.channel) && post({ kind: 'gap', gap })));
  // The iframe may be ready before the bridge: greet it now and whenever it (re)loads.
  const frameOnLoad = () => {
    session = undefined;
    post({ kind: 'hello' });
  };
  // Still on its initial about:blank (readable, as it has our origin): its page will say hello itself.
  const blank = (): boolean => {
    try {
      return frameWindow()?.location.href === 'about:blank';
    } catch {
      return false;
    }
  };
  if ('addEventListener' in options.frame && 'contentWindow' in options.frame) {
    const element = options.frame;
    element.addEventListener('load', frameOnLoad);
    cleanups.push(() => element.removeEventListener('load', frameOnLoad));
  }
  if (!blank()) frameOnLoad();

  return {
    close() {
      for (const cleanup of cleanups.splice(0)) cleanup();
      live.clear();
      for (const channel of created) void client.unsubscribe(channel).catch(() => {});
      created.clear();
    },
  };
}
