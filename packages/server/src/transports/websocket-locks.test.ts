import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald } from '../testing/herald-fixture.js';
import { connectClient } from '../testing/ws-client.js';

const LOCKS = {
  channels: {
    rules: [
      { pattern: 'doc:*', subscribe: 'all' as const, locks: { ttl: '3s' } },
      { pattern: 'plain', subscribe: 'all' as const },
      { pattern: 'secret', subscribe: 'none' as const, locks: { ttl: '3s' } },
    ],
  },
};

describe('WebSocketTransport locks', () => {
  it('takes a free lock, reports the holder to others, announces acquire and release', async () => {
    await using herald = await startHerald(LOCKS);
    const ann = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', name: 'Ann' }));
    const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
    await bob.request({ type: 'subscribe', channel: 'doc:1' });

    const taken = await ann.request({ type: 'lock', channel: 'doc:1', name: 'title' });
    assert.equal(taken.result.acquired, true);
    assert.deepEqual(taken.result.holder, { userId: 'ann', info: { name: 'Ann' } });
    const acquired = await bob.next((f) => f.type === 'pub' && f.event === 'lock:acquired');
    assert.deepEqual({ name: acquired.data.name, userId: acquired.data.userId }, { name: 'title', userId: 'ann' });

    const refused = await bob.request({ type: 'lock', channel: 'doc:1', name: 'title' });
    assert.equal(refused.result.acquired, false);
    assert.equal(refused.result.holder.userId, 'ann');
    assert.ok(refused.result.expiresAt > Date.now());
    assert.equal((await bob.request({ type: 'unlock', channel: 'doc:1', name: 'title' })).result.released, false);

    assert.equal((await ann.request({ type: 'unlock', channel: 'doc:1', name: 'title' })).result.released, true);
    const released = await bob.next((f) => f.type === 'pub' && f.event === 'lock:released');
    assert.deepEqual(released.data, { name: 'title', userId: 'ann', reason: 'released' });
    assert.equal((await bob.request({ type: 'lock', channel: 'doc:1', name: 'title' })).result.acquired, true);
    ann.close();
    bob.close();
  });

  it('keeps a lock while its holder is connected and releases it when the holder leaves', async () => {
    await using herald = await startHerald(LOCKS);
    const ann = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
    await bob.request({ type: 'subscribe', channel: 'doc:2' });
    assert.equal((await ann.request({ type: 'lock', channel: 'doc:2', name: 'body' })).result.acquired, true);
    // Past its 3 s TTL: the server refreshed it for the live connection.
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal((await bob.request({ type: 'lock', channel: 'doc:2', name: 'body' })).result.acquired, false);
    ann.ws.terminate();
    const released = await bob.next((f) => f.type === 'pub' && f.event === 'lock:released');
    assert.equal(released.data.reason, 'disconnected');
    assert.equal((await bob.request({ type: 'lock', channel: 'doc:2', name: 'body' })).result.acquired, true);
    bob.close();
  });

  it('refuses locks where the rule has none, where subscribing is forbidden, and bad names', async () => {
    await using herald = await startHerald(LOCKS);
    const ann = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    const plain = await ann.request({ type: 'lock', channel: 'plain', name: 'x' });
    assert.equal(plain.error.code, 'bad_request');
    assert.match(plain.error.message, /locks are not enabled/);
    assert.equal((await ann.request({ type: 'lock', channel: 'secret', name: 'x' })).error.code, 'forbidden');
    assert.equal((await ann.request({ type: 'lock', channel: 'doc:1', name: '' })).error.field, 'name');
    assert.equal((await ann.request({ type: 'lock', channel: 'doc:1' })).error.field, 'name');
    ann.close();
  });
});
