import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publishMeasuringRss, startHerald } from '@herald/server/testing';
import { io } from 'socket.io-client';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { nextEvent } from '../support/socket-events.js';
import { waitFor } from '../support/wait.js';

describe('Socket.IO slow readers', () => {
  for (const transport of ['websocket', 'polling'] as const) {
    it(`closes a ${transport} reader that stopped reading, and server memory stays bounded`, async () => {
      await using herald = await startHerald({
        limits: { sendQueueBytes: 1_048_576, maxDataBytes: 1_048_576 },
        // No history: the publications themselves must not be what memory holds.
        channels: { rules: [{ pattern: '*', subscribe: 'all' }] },
        presence: { userEvents: false },
      });
      await using proxy = await startTcpProxy(herald.url);
      const socket = io(proxy.url, { auth: { token: await herald.token({ sub: 'sloth' }) }, transports: [transport], reconnection: false });
      try {
        await nextEvent(socket, 'connected');
        assert.equal((await socket.emitWithAck('join-room', { room: 'firehose' })).ok, true);
        const hub = herald.server.node;
        // The network goes quiet from the server to the client: nothing it sends is read.
        proxy.stall('down');

        const { growth, published } = await publishMeasuringRss(hub, 'firehose', 'x'.repeat(128 * 1024), 1500);
        assert.ok(growth < published / 5, `rss grew by ${(growth / 1e6).toFixed(1)} MB while ${(published / 1e6).toFixed(0)} MB were published`);
        await waitFor(() => hub.sessions.size === 0, 'the slow session to end');
        const denials = await herald.server.metrics.denialsTotal.get();
        assert.equal(denials.values.find((v) => v.labels.reason === 'slow_consumer')?.value, 1);
        // Its connection is cut, not left holding what was queued for it.
        const open = () => new Promise<number>((resolve, reject) => herald.server.http.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
        await waitFor(async () => (await open()) === 0, `the server to drop the connection (${await open()} open)`, 8000);
      } finally {
        socket.close();
      }
    });
  }
});
