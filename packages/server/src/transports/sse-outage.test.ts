import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { channelKey } from '../engine.js';
import { RedisKeys } from '../engines/redis-keys.js';
import { createRedisEngine } from '../engines/redis.js';
import { describeWithRedis } from '../testing/describe-with-redis.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { startRedisServer, type RedisServer } from '../testing/redis-server.js';
import { SseTestClient } from '../testing/sse-client.js';
import { waitFor, within } from '../testing/wait.js';
import { TestClient } from '../testing/ws-client.js';

describeWithRedis('connecting while Redis is down', () => {
  let redis: RedisServer;
  let herald: HeraldFixture;

  const prefix = `herald-sse-${randomUUID().slice(0, 8)}:`;

  before(async () => {
    redis = await startRedisServer();
    herald = await startHerald({}, { engine: createRedisEngine({ url: redis.url, prefix }) });
  });
  after(async () => {
    await herald?.close();
    await redis?.close();
  });

  it('closes an SSE stream whose channel the engine fails to subscribe with 1011, not as a refusal by the rules', async () => {
    // The channel's presence key holds the wrong type: the engine fails on it while Redis is up.
    await redis.command('SET', new RedisKeys(prefix).presence(channelKey('default', 'broken')), 'not a hash');
    const sse = new SseTestClient(`${herald.url}/sse?channels=broken&token=${await herald.token({ sub: 'sse' })}`);
    try {
      const error = JSON.parse((await sse.next((e) => e.event === 'error')).data);
      assert.deepEqual(error, { channel: 'broken', code: 'internal', message: 'subscribe failed: internal error' });
      const close = JSON.parse((await sse.next((e) => e.event === 'close')).data);
      assert.deepEqual(close, { code: CloseCode.InternalError, reason: 'subscribe failed: internal error' });
    } finally {
      sse.close();
    }
  });

  it('closes an SSE stream with 1012 and a message for the client, not 4008 or a Redis message, while Redis is down', async () => {
    await redis.stop();
    await waitFor(async () => (await fetch(`${herald.url}/ready`)).status === 503, '/ready to report the engine', 5000);
    const sse = new SseTestClient(`${herald.url}/sse?channels=feed&token=${await herald.token({ sub: 'sse' })}`);
    try {
      const error = JSON.parse((await sse.next((e) => e.event === 'error')).data);
      assert.deepEqual(error, { code: 'unavailable', message: 'service unavailable, reconnect' });
      const close = JSON.parse((await sse.next((e) => e.event === 'close')).data);
      assert.deepEqual(close, { code: CloseCode.ServiceRestart, reason: 'service unavailable, reconnect' });
      await within(sse.done, 3000, 'end of stream');
      assert.doesNotMatch(sse.raw, /writeable|enableOfflineQueue|Redis|ioredis/i);
    } finally {
      sse.close();
    }
  });

  it('closes a WebSocket with the same code while Redis is down', async () => {
    const client = new TestClient(`${herald.wsUrl}/ws?token=${await herald.token({ sub: 'ws' })}`);
    const { code, reason } = await within(client.closed);
    assert.equal(code, CloseCode.ServiceRestart);
    assert.doesNotMatch(reason, /writeable|enableOfflineQueue|Redis/i);
  });
});
