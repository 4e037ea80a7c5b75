import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, TENANT_CHANNEL } from '@herald/protocol';
import type { HeraldConfigInput } from '../config/schema.js';
import { startCluster, subscribe, type Connection, type NodeFixture } from '../testing/node-fixture.js';
import { waitFor } from '../testing/wait.js';

const CONFIG: HeraldConfigInput = {
  channels: {
    rules: [
      { pattern: 'feed', subscribe: 'all', history: { size: 100, ttl: '5m' } },
      { pattern: 'short', subscribe: 'all', history: { size: 3, ttl: '5m' } },
      { pattern: 'live', subscribe: 'all' },
    ],
  },
};

/**
 * Node `a` publishes; node `b` has the subscribers and is the one whose delivery is interrupted,
 * as when its pub/sub connection to Redis drops.
 */
async function cluster() {
  const started = await startCluster(CONFIG);
  const [a, b] = started.nodes;
  const publish = async (channel: string, ...values: number[]) => {
    for (const i of values) await a.node.publish('default', { channels: [channel], event: 'tick', data: i }, 'api');
  };
  return { ...started, a, b, engine: started.engines[1], publish };
}

async function subscribed(fx: NodeFixture, user: string, ...channels: string[]): Promise<Connection> {
  const c = await fx.connect({ sub: user });
  for (const channel of channels) await subscribe(c.session, channel);
  return c;
}

const received = (c: Connection, channel: string, n: number) => waitFor(() => c.link.data(channel).length >= n, `${n} on ${channel}`);

describe('DeliveryRepair', () => {
  it('sends what was missed during an interruption after the resume, in order and once, and keeps the connections', async () => {
    await using c = await cluster();
    const early = await subscribed(c.b, 'ann', 'feed');
    await c.publish('feed', 1, 2);
    const late = await subscribed(c.b, 'bob', 'feed');
    await c.publish('feed', 3);
    await received(early, 'feed', 3);
    await received(late, 'feed', 1);

    c.engine.interrupt();
    await c.publish('feed', 4, 5, 6);
    await c.memory.settled();
    assert.deepEqual(early.link.data('feed'), [1, 2, 3], 'nothing arrives while interrupted');

    // The repair's history read is slow: live publications arrive before it and wait for it.
    const release = c.memory.holdHistory();
    c.engine.resume();
    await c.publish('feed', 7, 8);
    await c.memory.settled();
    assert.deepEqual(early.link.data('feed'), [1, 2, 3], 'live publications wait for the repair');
    release();
    await received(early, 'feed', 8);
    await received(late, 'feed', 6);
    await c.publish('feed', 9);
    await received(early, 'feed', 9);
    await c.memory.settled();
    assert.deepEqual(early.link.data('feed'), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(late.link.data('feed'), [3, 4, 5, 6, 7, 8, 9]);
    for (const s of [early, late]) assert.equal(s.link.closedWith, undefined);
  });

  it('keeps holding when the engine is interrupted again during a repair, and repairs all at the next resume', async () => {
    await using c = await cluster();
    const sub = await subscribed(c.b, 'ann', 'feed');
    await c.publish('feed', 1);
    await received(sub, 'feed', 1);
    c.engine.interrupt();
    await c.publish('feed', 2);
    const release = c.memory.holdHistory();
    c.engine.resume();
    c.engine.interrupt();
    release();
    // The first repair reads 2 and ends while delivery is down again: 3 is missed after it.
    await received(sub, 'feed', 2);
    await c.publish('feed', 3);
    await c.memory.settled();
    c.engine.resume();
    await received(sub, 'feed', 3);
    await c.publish('feed', 4);
    await received(sub, 'feed', 4);
    assert.deepEqual(sub.link.data('feed'), [1, 2, 3, 4]);
    assert.equal(sub.link.closedWith, undefined);
  });

  it('sends a subscriber to resync (1012) when history no longer reaches back to its position; it is told what is lost', async () => {
    await using c = await cluster();
    const lost = await subscribed(c.b, 'ann', 'short');
    const kept = await subscribed(c.b, 'bob', 'feed');
    await c.publish('short', 1);
    await received(lost, 'short', 1);
    const position = lost.link.publications('short')[0];

    c.engine.interrupt();
    await c.publish('short', 2, 3, 4, 5, 6);
    await c.publish('feed', 1);
    await c.memory.settled();
    c.engine.resume();
    await waitFor(() => lost.link.closedWith, 'the resync');
    assert.equal(lost.link.closedWith?.code, CloseCode.ServiceRestart);
    assert.match(lost.link.closedWith!.reason, /^delivery of short was interrupted \(history no longer reaches back\)/);
    assert.deepEqual(lost.link.data('short'), [1], 'no partial repair');
    // Another channel on the node, whose history covers the gap, is repaired.
    await received(kept, 'feed', 1);
    assert.equal(kept.link.closedWith, undefined);

    const back = await c.b.connect({ sub: 'ann' });
    const result = await subscribe(back.session, 'short', { epoch: position.epoch, offset: position.offset });
    assert.deepEqual(result.recovery, { recovered: false, reason: 'history_trimmed', replayed: 3, missing: { from: 2, to: 3 } });
    assert.deepEqual(back.link.data('short'), [4, 5, 6]);
  });

  it('sends subscribers to resync when the stream was reset meanwhile (a new epoch)', async () => {
    await using c = await cluster();
    const sub = await subscribed(c.b, 'ann', 'feed');
    await c.publish('feed', 1);
    await received(sub, 'feed', 1);
    const position = sub.link.publications('feed')[0];

    c.engine.interrupt();
    // The backend restarted without its data: the next publish starts a new stream.
    c.memory.loseHistory();
    await c.publish('feed', 2);
    await c.memory.settled();
    c.engine.resume();
    await waitFor(() => sub.link.closedWith, 'the resync');
    assert.equal(sub.link.closedWith?.code, CloseCode.ServiceRestart);
    assert.match(sub.link.closedWith!.reason, /\(the stream was reset\)/);

    const back = await c.b.connect({ sub: 'ann' });
    const result = await subscribe(back.session, 'feed', { epoch: position.epoch, offset: position.offset });
    assert.deepEqual(result.recovery, { recovered: false, reason: 'epoch_changed', replayed: 0 });
  });

  it('leaves subscribers of channels without history connected: what was published meanwhile stays missed', async () => {
    await using c = await cluster();
    const watcher = await subscribed(c.b, 'bob');
    const sub = await subscribed(c.b, 'ann', 'live');
    await c.publish('live', 1);
    await received(sub, 'live', 1);

    c.engine.interrupt();
    await c.publish('live', 2);
    // The tenant channel keeps no history either: a user:online during the interruption is missed too.
    await c.a.connect({ sub: 'cid' });
    await c.memory.settled();
    c.engine.resume();
    await c.publish('live', 3);
    await received(sub, 'live', 2);
    await c.memory.settled();
    assert.deepEqual(sub.link.data('live'), [1, 3]);
    assert.deepEqual(watcher.link.publications(TENANT_CHANNEL).map((p) => (p.data as { userId: string }).userId), ['ann']);
    for (const s of [sub, watcher]) assert.equal(s.link.closedWith, undefined);
  });

  it('sends a channel’s subscribers to resync when more than 10,000 publications arrive while it waits for its repair', async () => {
    await using c = await cluster();
    const sub = await subscribed(c.b, 'ann', 'feed');
    c.engine.interrupt();
    const release = c.memory.holdHistory();
    c.engine.resume();
    await c.publish('feed', ...Array.from({ length: 10_001 }, (_, i) => i + 1));
    await waitFor(() => sub.link.closedWith, 'the resync');
    release();
    assert.equal(sub.link.closedWith?.code, CloseCode.ServiceRestart);
    assert.match(sub.link.closedWith!.reason, /\(too many publications while delivery was repaired\)/);
  });
});
