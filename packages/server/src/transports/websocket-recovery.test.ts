import assert from 'node:assert/strict';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { HeraldConfigInput } from '../config/schema.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { waitFor, within } from '../testing/wait.js';
import { connectClient, type TestClient } from '../testing/ws-client.js';

const CONFIG: HeraldConfigInput = {
  channels: {
    rules: [
      { pattern: 'small:*', history: { size: 3 } },
      { pattern: 'bare:*', history: { size: 0 } },
      { pattern: 'race', publish: 'all', history: { size: 10_000 } },
      { pattern: '*', history: { size: 100 } },
    ],
  },
  limits: { messageRate: { perSecond: 100_000, burst: 100_000 } },
};

async function publish(herald: HeraldFixture, channel: string, n: number, from = 1): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < from + n; i++) {
    const { status, body } = await herald.api('POST', '/api/v1/publish', { channel, event: 'n', data: i });
    assert.equal(status, 200);
    ids.push(body.id);
  }
  return ids;
}

/** Subscribes, receives `n` publications, and disconnects; returns where it stopped. */
async function receiveThenLeave(herald: HeraldFixture, channel: string, n: number) {
  const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
  const { result } = await client.request({ type: 'subscribe', channel });
  await publish(herald, channel, n);
  const last = await client.next((f) => f.type === 'pub' && f.channel === channel && f.offset === n);
  client.close();
  await client.closed;
  return { epoch: result.epoch as string, last };
}

const offsetsOf = (client: TestClient, channel: string) => client.pubs(channel).map((p) => p.offset as number);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('WebSocketTransport recovery', () => {
  it('replays exactly the missed publications by offset and epoch, then live ones, without duplicates', async () => {
    await using herald = await startHerald(CONFIG);
    const { epoch, last } = await receiveThenLeave(herald, 'news', 3);
    assert.equal(last.epoch, epoch);
    await publish(herald, 'news', 4, 4);
    const back = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    const reply = await back.request({ type: 'subscribe', channel: 'news', since: { offset: 3, epoch } });
    assert.deepEqual(reply.result, { channel: 'news', epoch, offset: 7, recovery: { recovered: true, replayed: 4 } });
    await publish(herald, 'news', 1, 8);
    await back.next((f) => f.type === 'pub' && f.offset === 8);
    assert.deepEqual(offsetsOf(back, 'news'), [4, 5, 6, 7, 8]);
    assert.deepEqual(back.pubs('news').map((p) => p.data), [4, 5, 6, 7, 8]);
    // The replay follows the reply.
    const replyAt = back.frames.indexOf(reply);
    assert.ok(back.frames.indexOf(back.pubs('news')[0]) > replyAt);
    back.close();
  });

  it('replays after a last id', async () => {
    await using herald = await startHerald(CONFIG);
    const { last } = await receiveThenLeave(herald, 'news', 2);
    await publish(herald, 'news', 3, 3);
    const back = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    const reply = await back.request({ type: 'subscribe', channel: 'news', since: { lastId: last.id } });
    assert.deepEqual(reply.result.recovery, { recovered: true, replayed: 3 });
    await back.next((f) => f.type === 'pub' && f.offset === 5);
    assert.deepEqual(offsetsOf(back, 'news'), [3, 4, 5]);
    back.close();
  });

  it('answers unknown_id for a last id the history does not hold', async () => {
    await using herald = await startHerald(CONFIG);
    await publish(herald, 'news', 2);
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    const reply = await client.request({ type: 'subscribe', channel: 'news', since: { lastId: '01HZZZZZZZZZZZZZZZZZZZZZZZ' } });
    assert.deepEqual(reply.result.recovery, { recovered: false, reason: 'unknown_id', replayed: 0 });
    client.close();
  });

  it('answers epoch_changed for a position from another epoch', async () => {
    await using herald = await startHerald(CONFIG);
    await publish(herald, 'news', 3);
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    const reply = await client.request({ type: 'subscribe', channel: 'news', since: { offset: 1, epoch: 'from-before-a-restart' } });
    assert.equal(reply.result.offset, 3);
    assert.notEqual(reply.result.epoch, 'from-before-a-restart');
    assert.deepEqual(reply.result.recovery, { recovered: false, reason: 'epoch_changed', replayed: 0 });
    // Nothing is replayed; live publications follow.
    await publish(herald, 'news', 1, 4);
    await client.next((f) => f.type === 'pub' && f.offset === 4);
    assert.deepEqual(offsetsOf(client, 'news'), [4]);
    client.close();
  });

  it('answers offset_ahead for a position past the stream', async () => {
    await using herald = await startHerald(CONFIG);
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    const { result } = await client.request({ type: 'subscribe', channel: 'news' });
    await client.request({ type: 'unsubscribe', channel: 'news' });
    const reply = await client.request({ type: 'subscribe', channel: 'news', since: { offset: 9, epoch: result.epoch } });
    assert.deepEqual(reply.result.recovery, { recovered: false, reason: 'offset_ahead', replayed: 0 });
    client.close();
  });

  it('answers history_trimmed with the missing range and replays what is kept', async () => {
    await using herald = await startHerald(CONFIG);
    const { epoch } = await receiveThenLeave(herald, 'small:a', 2);
    await publish(herald, 'small:a', 5, 3); // offsets 3..7; history keeps 5..7
    const back = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    const reply = await back.request({ type: 'subscribe', channel: 'small:a', since: { offset: 2, epoch } });
    assert.deepEqual(reply.result.recovery, { recovered: false, reason: 'history_trimmed', missing: { from: 3, to: 4 }, replayed: 3 });
    await back.next((f) => f.type === 'pub' && f.offset === 7);
    assert.deepEqual(offsetsOf(back, 'small:a'), [5, 6, 7]);
    back.close();
  });

  it('answers no_history with the missing range for a channel without history', async () => {
    await using herald = await startHerald(CONFIG);
    const { epoch } = await receiveThenLeave(herald, 'bare:a', 2);
    await publish(herald, 'bare:a', 2, 3);
    const back = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    const reply = await back.request({ type: 'subscribe', channel: 'bare:a', since: { offset: 2, epoch } });
    assert.deepEqual(reply.result, { channel: 'bare:a', epoch, offset: 4, recovery: { recovered: false, reason: 'no_history', missing: { from: 3, to: 4 }, replayed: 0 } });
    back.close();
  });

  it('neither loses nor duplicates publications that race with the resubscribe', async () => {
    await using herald = await startHerald(CONFIG);
    const total = 1500;
    const first = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    const { result } = await first.request({ type: 'subscribe', channel: 'race' });
    const publisher = await connectClient(herald.wsUrl, await herald.token({ sub: 'writer' }));
    // Publishes in small bursts, letting the server read the subscriber's frames in between.
    const publishing = (async () => {
      for (let i = 1; i <= total; i++) {
        publisher.send({ type: 'publish', channel: 'race', event: 'n', data: i });
        if (i % 10 === 0) await yieldToIo();
      }
    })();
    await waitFor(() => first.pubs('race').length >= 200, '200 publications', 5000);
    first.close();
    await first.closed;
    const seen = offsetsOf(first, 'race');
    const second = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    const reply = await second.request({ type: 'subscribe', channel: 'race', since: { offset: seen[seen.length - 1], epoch: result.epoch } });
    assert.equal(reply.result.recovery.recovered, true);
    await publishing;
    await within(second.next((f) => f.type === 'pub' && f.offset === total, 10_000), 10_000, 'the last publication');
    assert.ok(reply.result.offset < total, 'the resubscribe happened while publishing went on');
    assert.deepEqual([...seen, ...offsetsOf(second, 'race')], range(1, total));
    publisher.close();
    second.close();
  });

  describe('history request', () => {
    it('returns the newest publications, or those after a position with recovery', async () => {
      await using herald = await startHerald(CONFIG);
      await publish(herald, 'news', 5);
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
      const latest = await client.request({ type: 'history', channel: 'news', limit: 2 });
      assert.deepEqual(latest.result.publications.map((p: { offset: number }) => p.offset), [4, 5]);
      assert.equal(latest.result.offset, 5);
      const after = await client.request({ type: 'history', channel: 'news', since: { offset: 2, epoch: latest.result.epoch } });
      assert.deepEqual(after.result.publications.map((p: { data: number }) => p.data), [3, 4, 5]);
      assert.deepEqual(after.result.recovery, { recovered: true, replayed: 3 });
      const page = await client.request({ type: 'history', channel: 'news', since: { lastId: latest.result.publications[0].id }, limit: 10 });
      assert.deepEqual(page.result.publications.map((p: { offset: number }) => p.offset), [5]);
      const old = await client.request({ type: 'history', channel: 'news', since: { lastId: after.result.publications[0].id }, limit: 1 });
      assert.deepEqual(old.result.publications.map((p: { offset: number }) => p.offset), [4], 'the limit applies after the last id');
      assert.deepEqual(old.result.recovery, { recovered: true, replayed: 2 });
      const none = await client.request({ type: 'history', channel: 'bare:x' });
      assert.equal(none.error.code, 'bad_request');
      client.close();
    });
  });
});
