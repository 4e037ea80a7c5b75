import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import { channelKey } from '../engine.js';
import { describeWithRedis } from '../testing/describe-with-redis.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { startRedisServer, type RedisServer } from '../testing/redis-server.js';
import { SseTestClient } from '../testing/sse-client.js';
import { connectClient } from '../testing/ws-client.js';
import { RedisKeys } from './redis-keys.js';
import { createRedisEngine } from './redis.js';

/** Log lines a pino logger wrote, parsed. */
function logSink() {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: pino({ level: 'warn' }, stream) };
}

describeWithRedis('Redis history with entries Herald cannot read', () => {
  let redis: RedisServer;
  let herald: HeraldFixture;
  let epoch: string;
  const log = logSink();
  const prefix = `herald-unreadable-${randomUUID().slice(0, 8)}:`;
  const names = new RedisKeys(prefix);
  const key = channelKey('default', 'feed');

  /** Writes the channel's next entry by hand, as something other than Herald could; returns its offset. */
  async function plant(payload: (offset: number) => string): Promise<number> {
    const offset = Number((await redis.command('HINCRBY', names.meta(key), 'o', '1')).slice(1));
    await redis.command('XADD', names.history(key), `${offset}-0`, 't', String(Date.now()), 'p', payload(offset));
    return offset;
  }

  before(async () => {
    redis = await startRedisServer();
    herald = await startHerald({}, { engine: createRedisEngine({ url: redis.url, prefix }), logger: log.logger });
    const first = await herald.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: { i: 1 } });
    assert.equal(first.status, 200);
    epoch = (await herald.api('GET', '/api/v1/channels/feed/history')).body.epoch;
    // 2: not JSON at all. 3: JSON that parses (JSON.parse takes any depth) but that no encoder can write back.
    assert.equal(await plant(() => 'not json'), 2);
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    assert.equal(await plant((offset) => `{"offset":${offset},"epoch":"${epoch}","id":"01PLANTED","channel":"feed","event":"tick","data":${deep},"ts":1}`), 3);
    assert.equal((await herald.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: { i: 4 } })).body.offset, 4);
  });
  after(async () => {
    await herald?.close();
    await redis?.close();
  });

  it('answers history with what it can read and lists the rest, and logs a warning', async () => {
    const res = await herald.api('GET', '/api/v1/channels/feed/history');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.publications.map((p: any) => p.offset), [1, 4]);
    assert.deepEqual(res.body.unreadable, [2, 3]);
    const warning = log.lines.find((l) => l.event === 'history_unreadable');
    assert.ok(warning, 'a warning about the unreadable entries');
    assert.equal(warning.level, 40);
    assert.deepEqual(warning.offsets, [2, 3]);
  });

  it('answers a history read from a position with a gap, not a complete recovery', async () => {
    const res = await herald.api('GET', `/api/v1/channels/feed/history?offset=1&epoch=${epoch}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.recovery, { recovered: false, reason: 'history_trimmed', missing: { from: 2, to: 3 }, replayed: 1 });
    assert.deepEqual(res.body.publications.map((p: any) => p.offset), [4]);
  });

  it('resumes a WebSocket subscriber with the gap reported and the readable rest replayed', async () => {
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ws' }));
    const reply = await client.request({ type: 'subscribe', channel: 'feed', since: { offset: 1, epoch } });
    assert.deepEqual(reply.result.recovery, { recovered: false, reason: 'history_trimmed', missing: { from: 2, to: 3 }, replayed: 1 });
    const replayed = await client.next((f) => f.type === 'pub');
    assert.deepEqual(replayed.data, { i: 4 });
    const history = await client.request({ type: 'history', channel: 'feed' });
    assert.deepEqual(history.result.unreadable, [2, 3]);
    client.close();
  });

  it('resumes an SSE stream with a not_recovered event', async () => {
    const token = await herald.token({ sub: 'sse' });
    const sse = new SseTestClient(`${herald.url}/sse?channels=feed&token=${token}`, { 'last-event-id': `${epoch}:1` });
    try {
      const notRecovered = JSON.parse((await sse.next((e) => e.event === 'not_recovered')).data);
      assert.deepEqual(notRecovered, { channel: 'feed', recovered: false, reason: 'history_trimmed', missing: { from: 2, to: 3 }, replayed: 1 });
      assert.deepEqual(JSON.parse((await sse.next((e) => e.event === 'tick')).data).data, { i: 4 });
    } finally {
      sse.close();
    }
  });

  it('goes on publishing after the planted entries', async () => {
    assert.equal((await herald.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: { i: 5 } })).body.offset, 5);
  });
});
