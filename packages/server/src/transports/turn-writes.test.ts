import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { startHerald, TEST_API_KEY, type HeraldFixture } from '../testing/herald-fixture.js';
import { receivedAtLeast, type OpenReceiver, type Receiver } from '../testing/receiver.js';
import { waitFor } from '../testing/wait.js';
import { openSocketIoReceiver } from '../testing/socketio-receiver.js';
import { openSseReceiver } from '../testing/sse-receiver.js';
import { openWebSocketReceiver } from '../testing/ws-receiver.js';

/** Counts what a server socket hands to the kernel: one `_write` or `_writev` call is one write. */
function countWrites(socket: Socket): () => number {
  let writes = 0;
  const stream = socket as unknown as { _write: (...args: unknown[]) => void; _writev?: (...args: unknown[]) => void };
  const write = stream._write.bind(socket);
  const writev = stream._writev?.bind(socket);
  stream._write = (...args) => (writes++, write(...args));
  if (writev) stream._writev = (...args) => (writes++, writev(...args));
  return () => writes;
}

/** The sockets the server accepts from now on. */
function serverSockets(herald: HeraldFixture): Socket[] {
  const sockets: Socket[] = [];
  herald.server.http.server.on('connection', (socket: Socket) => sockets.push(socket));
  return sockets;
}

/** Sends `count` single publish requests in one TCP write (HTTP/1.1 pipelining), as a busy backend's client may. */
async function pipelinedPublishes(herald: HeraldFixture, count: number): Promise<void> {
  const { port } = new URL(herald.url);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  let answers = '';
  socket.on('data', (chunk: Buffer) => (answers += chunk.toString('latin1')));
  const requests = Array.from({ length: count }, (_, i) => {
    const body = JSON.stringify({ channel: 'turn', event: 'step', data: { i } });
    return (
      `POST /api/v1/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_API_KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    );
  });
  socket.write(requests.join(''));
  try {
    await waitFor(() => answers.split('HTTP/1.1 200').length - 1 === count, `${count} publish answers`, 5000);
  } finally {
    socket.destroy();
  }
}

/** Opens a receiver on the only connection the server accepts meanwhile, counting that connection's writes. */
async function countedReceiver(herald: HeraldFixture, open: OpenReceiver): Promise<{ receiver: Receiver; writes: () => number }> {
  const sockets = serverSockets(herald);
  const receiver = await open(herald, await herald.token({ sub: 'reader' }), ['turn']);
  assert.equal(sockets.length, 1);
  return { receiver, writes: countWrites(sockets[0]!) };
}

function assertInOrder(receiver: Receiver, count: number): void {
  assert.deepEqual(
    receiver.received.map((r) => (r.data as { i: number }).i),
    Array.from({ length: count }, (_, i) => i),
  );
}

const TRANSPORTS: [string, OpenReceiver][] = [
  ['native WebSocket', openWebSocketReceiver],
  ['Socket.IO', openSocketIoReceiver],
  ['SSE', openSseReceiver],
];

const BATCH = 50;

describe('one write per socket per event-loop turn', () => {
  for (const [name, open] of TRANSPORTS) {
    it(`${name}: a batch published in one request reaches the subscriber in one write, in order`, async () => {
      await using herald = await startHerald();
      // The publish comes on a connection of its own, opened after the count began.
      const { receiver, writes } = await countedReceiver(herald, open);
      try {
        const publications = Array.from({ length: BATCH }, (_, i) => ({ channel: 'turn', event: 'step', data: { i } }));
        const answer = await herald.api('POST', '/api/v1/publish/batch', { publications });
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        await receivedAtLeast(receiver, BATCH);
        assertInOrder(receiver, BATCH);
        // Written one by one, the batch would take 50 writes (on SSE, Node's own per-tick cork of a
        // response already joins one request's events; the pipelined case below is where it does not).
        assert.ok(writes() <= 2, `${writes()} writes for ${BATCH} publications`);
      } finally {
        await receiver.close();
      }
    });

    it(`${name}: pipelined publish requests read in one turn reach the subscriber in few writes, in order`, async () => {
      await using herald = await startHerald();
      const { receiver, writes } = await countedReceiver(herald, open);
      try {
        await pipelinedPublishes(herald, BATCH);
        await receivedAtLeast(receiver, BATCH);
        assertInOrder(receiver, BATCH);
        // The requests arrive in one or a few reads; each read's publications leave together.
        assert.ok(writes() <= 10, `${writes()} writes for ${BATCH} publications`);
      } finally {
        await receiver.close();
      }
    });
  }
});
