import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import { channelKey } from '../engine.js';
import { RedisKeys } from '../engines/redis-keys.js';
import { createRedisEngine } from '../engines/redis.js';
import { describeWithRedis } from '../testing/describe-with-redis.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { startRedisServer, type RedisServer } from '../testing/redis-server.js';
import { waitFor } from '../testing/wait.js';
import { connectClient } from '../testing/ws-client.js';

/** What 503 means: the engine cannot answer now. A fault that would fail again is 500, and says nothing of Redis. */
describeWithRedis('503 / unavailable only when the engine is unavailable', () => {
  let redis: RedisServer;
  let herald: HeraldFixture;
  const prefix = `herald-faults-${randomUUID().slice(0, 8)}:`;
  let log = '';
  const logged = new Writable({
    write(chunk, _encoding, done) {
      log += chunk.toString();
      done();
    },
  });

  before(async () => {
    redis = await startRedisServer();
    herald = await startHerald({}, { engine: createRedisEngine({ url: redis.url, prefix }), logger: pino({ level: 'error' }, logged) });
    // A channel whose Redis key holds the wrong type: every command on it fails with WRONGTYPE, now and later.
    await redis.command('SET', new RedisKeys(prefix).meta(channelKey('default', 'broken')), 'not a hash');
  });
  after(async () => {
    await herald?.close();
    await redis?.close();
  });

  it('answers a publish that fails for a reason other than an outage with 500 internal', async () => {
    const res = await herald.api('POST', '/api/v1/publish', { channel: 'broken', event: 'e' });
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: { code: 'internal', message: 'publication failed: internal error' } });
    // The cause is for the operator.
    assert.match(log, /WRONGTYPE/);
    const batch = await herald.api('POST', '/api/v1/publish/batch', { publications: [{ channel: 'broken', event: 'e' }, { channel: 'fine', event: 'e' }] });
    assert.deepEqual(batch.body.results[0], { error: { code: 'internal', message: 'publication failed: internal error' } });
    assert.equal(batch.body.results[1].offset, 1);
    const history = await herald.api('GET', '/api/v1/channels/broken/history');
    assert.deepEqual({ status: history.status, body: history.body }, { status: 500, body: { error: { code: 'internal', message: 'internal error' } } });
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u' }));
    const reply = await client.request({ type: 'publish', channel: 'broken', event: 'e' });
    assert.deepEqual(reply.error, { code: 'internal', message: 'publication failed: internal error' });
    const subscribe = await client.request({ type: 'subscribe', channel: 'broken' });
    assert.deepEqual(subscribe.error, { code: 'internal', message: 'subscribe failed: internal error' });
    client.close();
  });

  it('answers 503 unavailable while Redis is down, and nothing else', async () => {
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u' }));
    await redis.stop();
    await waitFor(async () => (await fetch(`${herald.url}/ready`)).status === 503, '/ready to report the engine', 5000);
    const res = await herald.api('POST', '/api/v1/publish', { channel: 'fine', event: 'e' });
    assert.deepEqual({ status: res.status, body: res.body }, { status: 503, body: { error: { code: 'unavailable', message: 'engine unavailable, publication not accepted' } } });
    const history = await herald.api('GET', '/api/v1/channels/fine/history');
    assert.deepEqual({ status: history.status, body: history.body }, { status: 503, body: { error: { code: 'unavailable', message: 'engine unavailable, try again' } } });
    const subscribe = await client.request({ type: 'subscribe', channel: 'fine' });
    assert.deepEqual(subscribe.error, { code: 'unavailable', message: 'subscription unavailable, try again' });
    client.close();
    // Input that can never be stored is refused as such, outage or not.
    const deep = await herald.api('POST', '/api/v1/publish', `{"channel":"fine","event":"e","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    assert.equal(deep.status, 400);
  });
});
