import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { startHerald } from '../testing/herald-fixture.js';
import { SseTestClient } from '../testing/sse-client.js';

describe('SSE refusals after the stream started', () => {
  it('closes a channel that is full with 4008, not as a refusal by the rules', async () => {
    await using herald = await startHerald({ channels: { rules: [{ pattern: 'room', subscribe: 'all', maxSubscribers: 1 }] } });
    const first = new SseTestClient(`${herald.url}/sse?channels=room&token=${await herald.token({ sub: 'first' })}`);
    const second = new SseTestClient(`${herald.url}/sse?channels=room&token=${await herald.token({ sub: 'second' })}`);
    try {
      await first.next((e) => e.event === 'connected');
      const error = JSON.parse((await second.next((e) => e.event === 'error')).data);
      assert.deepEqual(error, { channel: 'room', code: 'limit_exceeded', message: 'room has its maximum of 1 subscribers' });
      const close = JSON.parse((await second.next((e) => e.event === 'close')).data);
      assert.deepEqual(close, { code: CloseCode.TooManyConnections, reason: 'room has its maximum of 1 subscribers' });
    } finally {
      first.close();
      second.close();
    }
  });

  it('closes a stream past the tenant connection limit with 4008 and the limit', async () => {
    await using herald = await startHerald({ limits: { connectionsPerTenant: 1 } });
    const first = new SseTestClient(`${herald.url}/sse?channels=a&token=${await herald.token({ sub: 'first' })}`);
    const second = new SseTestClient(`${herald.url}/sse?channels=a&token=${await herald.token({ sub: 'second' })}`);
    try {
      await first.next((e) => e.event === 'connected');
      const error = JSON.parse((await second.next((e) => e.event === 'error')).data);
      assert.deepEqual(error, { code: 'limit_exceeded', message: 'tenant default has its maximum of 1 connections' });
      const close = JSON.parse((await second.next((e) => e.event === 'close')).data);
      assert.deepEqual(close, { code: CloseCode.TooManyConnections, reason: 'tenant default has its maximum of 1 connections' });
    } finally {
      first.close();
      second.close();
    }
  });

  it('still closes a channel the rules refuse with 4003', async () => {
    await using herald = await startHerald({ channels: { rules: [{ pattern: 'staff', subscribe: 'none' }] } });
    const sse = new SseTestClient(`${herald.url}/sse?channels=staff&token=${await herald.token({ sub: 'u' })}`);
    try {
      const close = JSON.parse((await sse.next((e) => e.event === 'close')).data);
      assert.deepEqual(close, { code: CloseCode.Forbidden, reason: 'not allowed to subscribe to staff' });
    } finally {
      sse.close();
    }
  });
});
