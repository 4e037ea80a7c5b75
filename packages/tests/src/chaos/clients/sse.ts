import { EventSource } from 'eventsource';
import type { ClientInfo } from '../ledger.js';
import { InversionWatch, type ChaosClient, type ClientContext } from './common.js';

interface Envelope {
  id: string;
  channel: string;
  event: string;
  data: unknown;
  offset: number;
  epoch: string;
}

/**
 * The `eventsource` package on `GET /sse?channels=…`, token as `Authorization: Bearer` through
 * its `fetch` option. It reconnects by itself with `Last-Event-ID`; when it gives up (a refusal
 * with an HTTP status), the app opens a new one with `?lastEventId=` as after a page reload.
 * `not_recovered` events are noted as reported losses.
 */
export function startSseClient(info: ClientInfo, ctx: ClientContext): ChaosClient {
  const { ledger } = ctx;
  const url = `${ctx.proxy.url}/sse?channels=${info.channels.map(encodeURIComponent).join(',')}`;
  const watch = new InversionWatch();
  let source: EventSource | undefined;
  let up = false;
  let closing = false;
  let lastEventId = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const open = () => {
    if (closing) return;
    const target = lastEventId ? `${url}&lastEventId=${encodeURIComponent(lastEventId)}` : url;
    const es = new EventSource(target, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${ctx.token}` } }),
    });
    source = es;
    es.addEventListener('connected', () => {
      up = true;
      markReady();
    });
    es.addEventListener('chaos', (e: MessageEvent) => {
      const envelope = JSON.parse(e.data) as Envelope;
      if (e.lastEventId) lastEventId = e.lastEventId;
      ledger.deliver(info.id, { channel: envelope.channel, id: envelope.id, epoch: envelope.epoch, offset: envelope.offset, data: envelope.data });
      // Observed for the record only: the stream's connection is not reachable from here to cut.
      watch.observe(envelope.channel, envelope.id);
    });
    es.addEventListener('not_recovered', (e: MessageEvent) => {
      const body = JSON.parse(e.data) as { channel?: string; reason: string; missing?: { from: number; to: number } };
      ledger.report(info.id, { channel: body.channel ?? '*', reason: body.reason, ...(body.missing ? { missing: body.missing } : {}) });
    });
    es.addEventListener('close', (e: MessageEvent) => ledger.note(info.id, `close ${e.data}`));
    es.addEventListener('error', (e: Event) => {
      // The server's own `error` event carries data; the package's connection errors do not.
      const data = (e as MessageEvent).data;
      if (typeof data === 'string' && data) {
        ledger.note(info.id, `error event ${data}`);
        return;
      }
      if (closing) return;
      const message = (e as unknown as { message?: string; code?: number }).message;
      const text = `stream error: ${message ?? 'unknown'}${es.readyState === es.CLOSED ? ' (given up: opening a new one)' : ''}`;
      if (up) ledger.interrupted(info.id, text);
      else ledger.note(info.id, text);
      up = false;
      if (es.readyState === es.CLOSED) setTimeout(open, 1000);
    });
  };
  open();

  return {
    info,
    ready,
    connected: () => up,
    async close() {
      closing = true;
      source?.close();
    },
  };
}
