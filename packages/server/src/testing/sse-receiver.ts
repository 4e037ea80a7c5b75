import type { HeraldFixture } from './herald-fixture.js';
import { Refusal, type Ending, type NotRecovered, type OpenReceiver, type Received, type Receiver } from './receiver.js';
import { SseTestClient, type SseEvent } from './sse-client.js';

interface Stream {
  client: SseTestClient;
  ended: Promise<Ending>;
}

/** An envelope publication: anything else on the stream (connected, not_recovered, close) has no id and offset. */
function publicationOf(e: SseEvent): Received | undefined {
  let body: any;
  try {
    body = JSON.parse(e.data);
  } catch {
    return undefined;
  }
  if (typeof body?.id !== 'string' || typeof body.offset !== 'number' || body.event !== e.event) return undefined;
  return { id: body.id, channel: body.channel, event: body.event, data: body.data, ...(body.publisher ? { publisher: body.publisher } : {}) };
}

/**
 * A receiver on `GET /sse?channels=…`. It resumes as EventSource does: the same URL again with
 * `Last-Event-ID` set to the last event id the stream gave.
 */
export const openSseReceiver: OpenReceiver = async (herald: HeraldFixture, token, channels, resumeFrom) => {
  const received: Received[] = [];
  const notRecovered: NotRecovered[] = [];
  let lastEventId = (resumeFrom?.value as string | undefined) ?? '';
  const url = `${herald.url}/sse?channels=${channels.map(encodeURIComponent).join(',')}&token=${encodeURIComponent(token)}`;

  const open = async (): Promise<Stream> => {
    const client = new SseTestClient(url, lastEventId ? { 'last-event-id': lastEventId } : {});
    let closing: Ending | undefined;
    let first: (e: SseEvent | undefined) => void = () => {};
    const opening = new Promise<SseEvent | undefined>((resolve) => (first = resolve));
    client.onEvent = (e) => {
      if (e.event === 'connected' || e.event === 'error') first(e);
      if (e.event === 'not_recovered') notRecovered.push(JSON.parse(e.data));
      else if (e.event === 'close') closing = JSON.parse(e.data);
      else {
        const p = publicationOf(e);
        if (p && channels.includes(p.channel!)) received.push(p);
      }
    };
    void client.done.then(() => first(undefined));
    const status = await client.opened;
    if (status !== 200) {
      await client.done;
      throw new Refusal(status, client.raw);
    }
    const e = await opening;
    if (e?.event !== 'connected') {
      client.close();
      const body = e ? JSON.parse(e.data) : { code: 'end', message: 'stream ended before connected' };
      throw new Refusal(body.code, body.message);
    }
    return { client, ended: client.done.then(() => closing ?? { code: 'end' }) };
  };

  let stream = await open();
  const receiver: Receiver = {
    transport: 'sse',
    received,
    notRecovered,
    ended: () => stream.ended,
    position: () => ({ transport: 'sse', value: stream.client.lastEventId || lastEventId }),
    async cut() {
      stream.client.close();
      await stream.client.done;
      lastEventId = stream.client.lastEventId || lastEventId;
    },
    async resume() {
      stream = await open();
    },
    async close() {
      stream.client.close();
      await stream.client.done;
    },
  };
  return receiver;
};
