import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { startHerald, waitFor, type HeraldFixture } from '@herald/server/testing';
import { RawSocket } from './support/raw-socket.js';
import { assertStillServes } from './support/still-serves.js';
import { RawWebSocket } from './support/ws-wire.js';

/** 400 records of ~64 KB, 25 MB: far more than the reader's 64 KiB queue and the kernel's buffers. */
const RECORDS = 400;
const DETAIL = 'x'.repeat(64 * 1024);
const AUDIT = { audit: { enabled: true, operatorTenant: 'ops', sendQueueBytes: 65_536, history: { size: 10 } } };

const slowReaders = async (herald: HeraldFixture) => (await herald.server.metrics.registry.getSingleMetric('herald_audit_slow_readers_total')?.get())?.values[0]?.value ?? 0;

/** Big records straight from the bus, a batch per turn, until the feed reports a slow reader. */
async function floodRecords(herald: HeraldFixture): Promise<void> {
  for (let i = 0; i < RECORDS && (await slowReaders(herald)) === 0; i += 10) {
    for (let j = 0; j < 10; j++) herald.server.node.events.emit('denial', { reason: 'origin', transport: 'test', detail: DETAIL });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('audit readers that stop reading', () => {
  it('closes a WebSocket reader with 4006 instead of buffering for it', async () => {
    await using herald = await startHerald(AUDIT);
    const token = await herald.token({ sub: 'root', tenant: 'ops', roles: ['admin'] });
    const ws = await RawWebSocket.open(herald.url, `/ws/audit?token=${token}&types=denial`, { keepPayloads: false });
    try {
      await ws.nextMessage((m) => m?.type === 'subscribed');
      ws.raw.stopReading();
      await floodRecords(herald);
      assert.equal(await slowReaders(herald), 1);
      ws.raw.resumeReading();
      const close = await ws.closeFrame(5000);
      assert.equal(close.code, CloseCode.SlowConsumer, close.reason);
      await waitFor(async () => (await herald.server.metrics.registry.getSingleMetric('herald_audit_readers')?.get())?.values[0]?.value === 0, 'no reader left');
    } finally {
      ws.raw.destroy();
    }
    await assertStillServes(herald);
  });

  it('cuts an SSE reader without a close event', async () => {
    await using herald = await startHerald(AUDIT);
    const token = await herald.token({ sub: 'root', tenant: 'ops', roles: ['admin'] });
    const raw = await RawSocket.open(herald.url);
    try {
      raw.write(`GET /api/v1/audit/events?types=denial&token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      await raw.until((r) => r.text.includes('event: subscribed'), 3000, 'the subscribed event');
      raw.keep = false;
      let tail = '';
      let sawClose = false;
      raw.onData = (chunk) => {
        tail = (tail + chunk.toString('latin1')).slice(-64);
        if (tail.includes('event: close')) sawClose = true;
      };
      raw.stopReading();
      await floodRecords(herald);
      assert.equal(await slowReaders(herald), 1);
      raw.resumeReading();
      assert.equal(sawClose, false);
    } finally {
      raw.destroy();
    }
    await assertStillServes(herald);
  });
});
