import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { startHerald } from '../testing/herald-fixture.js';
import { publishMeasuringRss } from '../testing/rss.js';
import { waitFor, within } from '../testing/wait.js';

/** A masked text frame, as a client must send it (RFC 6455 §5.3). */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  assert.ok(payload.length < 126);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/**
 * A WebSocket client written by hand on a TCP socket, so that it can stop reading entirely:
 * it completes the handshake, subscribes, and then pauses the socket.
 */
async function stalledSubscriber(port: number, path: string, channel: string): Promise<{ socket: Socket; received: () => number }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  let text = '';
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (text.length < 10_000) text += chunk.toString('latin1');
  });
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await waitFor(() => text.includes('"type":"connected"'), 'the connected frame', 3000);
  assert.match(text, /^HTTP\/1\.1 101 /);
  socket.write(clientTextFrame(JSON.stringify({ type: 'subscribe', id: 1, channel })));
  await waitFor(() => text.includes('"type":"reply","id":1'), 'the subscribe reply', 3000);
  socket.pause();
  return { socket, received: () => bytes };
}

describe('WebSocketLink', () => {
  describe('send queue', () => {
    it('closes a reader that stopped reading, and server memory stays bounded', async () => {
      await using herald = await startHerald({
        // Publications of 100 KB, past the default limits.maxDataBytes: each one alone overflows the queue.
        limits: { sendQueueBytes: 65_536, maxDataBytes: 131_072 },
        // No history: the publications themselves must not be what memory holds.
        channels: { rules: [{ pattern: '*', subscribe: 'all' }] },
      });
      const port = Number(new URL(herald.url).port);
      const token = await herald.token({ sub: 'sloth' });
      const stalled = await stalledSubscriber(port, `/ws?token=${token}`, 'firehose');
      const hub = herald.server.node;
      assert.equal(hub.sessions.size, 1);

      // 200 MB is far past what kernel buffers can hold.
      const { growth, published } = await publishMeasuringRss(hub, 'firehose', 'x'.repeat(100_000), 2000);
      // Unbounded, the server would hold nearly all of it; bounded, what remains is garbage awaiting GC.
      assert.ok(growth < published / 5, `rss grew by ${(growth / 1e6).toFixed(1)} MB while ${(published / 1e6).toFixed(0)} MB were published`);

      // The server gave up on the connection (the socket is cut off after the close handshake times out).
      await waitFor(() => hub.sessions.size === 0, 'the slow session to end', 5000);
      const denials = await herald.server.metrics.denialsTotal.get();
      assert.equal(denials.values.find((v) => v.labels.reason === 'slow_consumer')?.value, 1);

      // Reading again, the client finds the stream ended, having got far less than was published.
      stalled.socket.resume();
      await within(new Promise((resolve) => stalled.socket.once('close', resolve)), 5000);
      assert.ok(stalled.received() < published / 2, `received ${stalled.received()} of ${published} bytes`);

      // The server still serves others.
      assert.equal((await herald.api('POST', '/api/v1/publish', { channel: 'firehose', event: 'after' })).status, 200);
    });
  });
});
