import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { startHerald, type HeraldFixture } from '@herald/server/testing';
import { flood, type FloodResult } from './support/flood.js';
import { RawSocket, parseResponse } from './support/raw-socket.js';
import { assertStillServes } from './support/still-serves.js';
import { RawWebSocket } from './support/ws-wire.js';

/**
 * 640 × 128 KB, 80 MB, to a reader that is never cut; 256, 32 MB, once it is: either way far more
 * than the 1 MiB send queue and the kernel's socket buffers together.
 */
const PUBLICATIONS = { min: 256, max: 640 };
/** What the server may grow by while that much is published to a reader that reads nothing. */
const RSS_BOUND_MIB = 60;
/** What it may hold in Buffers meanwhile: the send queue, a publication or two in flight. */
const EXTERNAL_BOUND_MIB = 24;

function assertBounded(result: FloodResult): void {
  assert.ok(result.cutAfter !== undefined, `the server cut the slow reader (${result.published} publications sent)`);
  assert.ok(result.rssGrowthMiB < RSS_BOUND_MIB, `RSS grew by ${result.rssGrowthMiB.toFixed(1)} MiB`);
  assert.ok(result.externalGrowthMiB < EXTERNAL_BOUND_MIB, `Buffers grew by ${result.externalGrowthMiB.toFixed(1)} MiB`);
}

/** A gateway without history: what it holds for a slow reader is all that could grow. */
const slowReaderHerald = () => startHerald({ limits: { maxDataBytes: 1_048_576 }, channels: { rules: [{ pattern: '*', subscribe: 'all', publish: 'all' }] } });

describe('slow readers', () => {
  it('closes a WebSocket reader that stops reading with 4006, and stays bounded', async () => {
    await using herald = await slowReaderHerald();
    const ws = await RawWebSocket.open(herald.url, `/ws?token=${await herald.token({ sub: 'slow' })}`, { keepPayloads: false });
    try {
      await ws.nextMessage((m) => m?.type === 'connected');
      ws.sendText('{"type":"subscribe","id":1,"channel":"firehose"}');
      await ws.nextMessage((m) => m?.type === 'reply' && m.id === 1);
      ws.raw.stopReading();
      const result = await flood(herald, 'firehose', PUBLICATIONS, () => ws.raw.resumeReading());
      assertBounded(result);
      const close = await ws.closeFrame(5000);
      assert.equal(close.code, CloseCode.SlowConsumer, close.reason);
    } finally {
      ws.raw.destroy();
    }
    await assertStillServes(herald);
  });

  it('cuts an SSE stream that stops reading, without a close event, and stays bounded', async () => {
    await using herald = await slowReaderHerald();
    const raw = await RawSocket.open(herald.url);
    try {
      raw.write(`GET /sse?channels=firehose&token=${await herald.token({ sub: 'slow' })} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      await raw.until((r) => r.text.includes('event: connected'), 3000, 'the connected event');
      assert.equal(parseResponse(raw.text)?.status, 200);
      // From here the stream is counted, not kept; only a close event and the response's end are looked for.
      let tail = '';
      let sawClose = false;
      let ended = false;
      raw.keep = false;
      raw.onData = (chunk) => {
        tail = (tail + chunk.toString('latin1')).slice(-64 * 1024);
        if (tail.includes('event: close')) sawClose = true;
        // The last chunk of a chunked response: the server ended the stream (the connection may stay, idle).
        if (tail.endsWith('\r\n0\r\n\r\n')) ended = true;
        tail = tail.slice(-32);
      };
      raw.stopReading();
      const result = await flood(herald, 'firehose', PUBLICATIONS, () => raw.resumeReading());
      assertBounded(result);
      await raw.until(() => ended || raw.isClosed || undefined, 5000, 'the end of the stream').catch((err) => assert.ok(raw.isClosed, err.message));
      assert.equal(sawClose, false, 'a slow reader is cut off without a close event');
    } finally {
      raw.destroy();
    }
    await assertStillServes(herald);
  });

  it(
    'disconnects a Socket.IO reader that stops reading with an error event 4006, and stays bounded',
    async () => {
      await using herald = await slowReaderHerald();
      const ws = await RawWebSocket.open(herald.url, '/socket.io/?EIO=4&transport=websocket', { keepPayloads: false });
      try {
        ws.sendText(`40${JSON.stringify({ token: await herald.token({ sub: 'slow' }) })}`);
        await ws.nextMessage((m) => typeof m === 'string' && m.startsWith('42["connected"'));
        ws.sendText('420["join-room",{"room":"firehose"}]');
        await ws.nextMessage((m) => typeof m === 'string' && m.startsWith('430'));
        ws.raw.stopReading();
        const result = await flood(herald, 'firehose', PUBLICATIONS, () => ws.raw.resumeReading());
        ws.raw.resumeReading();
        assertBounded(result);
        // Documented: `error` {code: 4006}, then the socket is disconnected (`41`) or the connection closed.
        const error = await ws.nextMessage((m) => typeof m === 'string' && m.startsWith('42["error"'), 5000);
        assert.equal(JSON.parse(error.slice(2))[1].code, CloseCode.SlowConsumer);
        await ws.raw.until(() => ws.messages.includes('41') || ws.raw.isClosed || undefined, 5000, 'the disconnect').catch(() => assert.ok(ws.raw.isClosed));
      } finally {
        ws.raw.destroy();
      }
      await assertStillServes(herald);
    },
  );
});
