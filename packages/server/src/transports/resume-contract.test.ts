import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startHerald } from '../testing/herald-fixture.js';
import { receivedAtLeast, type OpenReceiver, type Receiver } from '../testing/receiver.js';
import { openSocketIoReceiver } from '../testing/socketio-receiver.js';
import { openSseReceiver } from '../testing/sse-receiver.js';
import { waitFor } from '../testing/wait.js';
import { openWebSocketReceiver } from '../testing/ws-receiver.js';
import { assertSameStream, keepPublishing, SUITE_CONFIG, untilEnds } from './transport.case.js';

const CHANNELS = ['orders', 'calls', 'city:Саратов'];

/** Each transport is cut at its own point of the stream and stays away for a while. */
const CLIENTS: { open: OpenReceiver; cutAfter: number; oneStream: boolean }[] = [
  { open: openWebSocketReceiver, cutAfter: 7, oneStream: false },
  { open: openSseReceiver, cutAfter: 16, oneStream: true },
  { open: openSocketIoReceiver, cutAfter: 25, oneStream: true },
];

describe('one resume contract across WebSocket, SSE and Socket.IO', () => {
  const receivers: Receiver[] = [];
  after(() => Promise.all(receivers.map((r) => r.close().catch(() => {}))));

  it('gives every transport the same publications, with the same ids, after a cut mid-stream', async () => {
    await using herald = await startHerald(SUITE_CONFIG);
    for (const [i, client] of CLIENTS.entries()) {
      receivers.push(await client.open(herald, await herald.token({ sub: `reader-${i}` }), CHANNELS));
    }
    const publisher = keepPublishing(herald, CHANNELS);
    await Promise.all(
      receivers.map(async (receiver, i) => {
        await receivedAtLeast(receiver, CLIENTS[i].cutAfter, 10_000);
        await receiver.cut();
        const at = publisher.sent.length;
        await waitFor(() => publisher.sent.length >= at + 6, 'publications while away', 10_000);
        await receiver.resume();
      }),
    );
    await waitFor(() => publisher.sent.length >= 50, '50 publications', 10_000);
    await publisher.stop();
    await Promise.all(receivers.map((r) => untilEnds(r, CHANNELS)));

    for (const [i, receiver] of receivers.entries()) {
      assertSameStream(receiver, publisher.sent, CLIENTS[i].oneStream);
      assert.deepEqual(receiver.notRecovered, [], receiver.transport);
    }
    // The same ids, events and data everywhere. Ids sort in publication order, which puts the
    // native client's channel-by-channel replay back into the one sequence the others hold.
    const sequences = receivers.map((r) => [...r.received].sort((x, y) => ((x.id ?? '') < (y.id ?? '') ? -1 : 1)).map(({ id, event, data }) => ({ id, event, data })));
    assert.deepEqual(sequences[0].map((r) => r.id), publisher.sent.map((s) => s.id));
    assert.deepEqual(sequences[1], sequences[0]);
    assert.deepEqual(sequences[2], sequences[0]);
  });
});
