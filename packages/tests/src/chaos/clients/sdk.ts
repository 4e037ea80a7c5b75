import type { Socket as NetSocket } from 'node:net';
import { createHeraldClient, exponentialBackoff, memoryStorage, type WebSocketConstructor } from '@herald/client';
import WebSocket from 'ws';
import { isChaosData, type ClientInfo } from '../ledger.js';
import { InversionWatch, cutNow, cutReason, type ChaosClient, type ClientContext } from './common.js';

/**
 * `@herald/client` as an app uses it: one subscription per channel, `gap` noted as a reported
 * loss (from where delivery goes on). The SDK resumes by offset and drops what it has seen.
 */
export function startSdkClient(info: ClientInfo, ctx: ClientContext): ChaosClient {
  const { ledger } = ctx;
  let current: (WebSocket & { cut: boolean }) | undefined;
  // The SDK's sockets, so that an inversion can cut the live one.
  class TrackedWebSocket extends WebSocket {
    /** Set when the client cuts itself: frames of the same TCP read that follow are dropped. */
    cut = false;
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      current = this;
    }
    override emit(event: string | symbol, ...args: any[]): boolean {
      if (this.cut && event === 'message') return false;
      return super.emit(event, ...args);
    }
  }
  const client = createHeraldClient({
    url: `${ctx.proxy.wsUrl}/ws`,
    token: ctx.token,
    WebSocket: TrackedWebSocket as unknown as WebSocketConstructor,
    backoff: exponentialBackoff({ initial: 100, factor: 2, max: 1000, jitter: 0.3, random: ctx.random.next }),
    storage: memoryStorage(),
    watchNetwork: false,
  });
  const watch = new InversionWatch();
  const subscribed = new Set<string>();
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const subs = info.channels.map((channel) => {
    const sub = client.subscribe(channel);
    sub.onPublication((p) => {
      ledger.deliver(info.id, { channel: p.channel, id: p.id, epoch: p.epoch, offset: p.offset, data: p.data });
      const inverted = watch.observe(p.channel, p.id);
      const why = isChaosData(p.data) ? cutReason(ctx, info.id, watch, p.data.k, p.channel, inverted) : undefined;
      if (why && current && cutNow(ctx, (current as unknown as { _socket?: NetSocket })._socket)) {
        current.cut = true;
        ledger.fault(`${why} cuts (ws-sdk)`);
        ledger.note(info.id, `cut right after ${p.id} (offset ${p.offset} of ${p.channel}), ${why === 'inversion' ? 'which sorts below the id before it' : 'early in a simultaneous burst'}`);
      }
    });
    sub.onGap((gap) => {
      ledger.report(info.id, {
        channel: gap.channel,
        reason: gap.reason ?? 'gap',
        ...(gap.missing ? { missing: gap.missing } : {}),
        liveFrom: { epoch: gap.epoch, offset: gap.offset },
      });
    });
    sub.onSubscribed(() => {
      subscribed.add(channel);
      if (subscribed.size === info.channels.length) markReady();
    });
    return sub;
  });
  let lastStatus = '';
  client.on('status', (state) => {
    if (state.status === lastStatus) return;
    const text = `status ${state.status}${state.reason ? `: ${state.reason}` : ''}${state.code ? ` (${state.code})` : ''}`;
    if (lastStatus === 'connected') ledger.interrupted(info.id, text);
    else ledger.note(info.id, text);
    lastStatus = state.status;
  });
  client.on('error', (err) => ledger.note(info.id, `error ${err.code}: ${err.message}`));

  return {
    info,
    ready,
    connected: () => client.status === 'connected' && subs.every((s) => s.status === 'subscribed'),
    async close() {
      client.close();
    },
  };
}
