import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald } from '../testing/herald-fixture.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

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

  it("announces take, refresh and release in the rule's shape, on a data route too", async () => {
    const announce = {
      events: { acquired: 'LOCK_REFRESHED', refreshed: 'LOCK_REFRESHED', released: 'LOCK_REFRESHED' },
      data: { event_type: 'LOCK_REFRESHED', entity_id: '{name}', revision: '{last.revision}', payload: { state: '{state}', user_id: '{userId}', reason: '{reason}' } },
    };
    await using herald = await startHerald({
      channels: { rules: [{ pattern: 'tasks', subscribe: 'all', history: { size: 100, ttl: '5m' }, locks: { ttl: '900ms', announce } }] },
      routes: [{ path: '/stream', channel: 'tasks', format: 'data', resume: { frame: 'HELLO', field: 'revision' } }],
    });
    assert.equal((await herald.api('POST', '/api/v1/publish', { channel: 'tasks', event: 'TASK_UPDATED', data: { event_type: 'TASK_UPDATED', entity_id: 'task-1', revision: 7, payload: {} } })).status, 200);
    const stream = async (sub: string) => {
      const client = new TestClient(`${herald.wsUrl}/stream?token=${await herald.token({ sub })}`);
      await client.opened();
      client.send({ type: 'HELLO', revision: 7 });
      return client;
    };
    const anna = await stream('anna');
    const boris = await stream('boris');
    await new Promise((r) => setTimeout(r, 100));
    anna.send({ type: 'lock', id: 1, channel: 'tasks', name: 'task-1' });
    assert.equal((await anna.next((f) => f.type === 'reply' && f.id === 1)).result.acquired, true);
    const message = (state: string) => (f: Record<string, any>) => f.event_type === 'LOCK_REFRESHED' && f.payload.state === state;
    assert.deepEqual(await boris.next(message('acquired')), { event_type: 'LOCK_REFRESHED', entity_id: 'task-1', revision: 7, payload: { state: 'acquired', user_id: 'anna' } });
    // Refreshed every third of the TTL while the holder's connection lives.
    assert.deepEqual(await boris.next(message('refreshed'), 3000), { event_type: 'LOCK_REFRESHED', entity_id: 'task-1', revision: 7, payload: { state: 'refreshed', user_id: 'anna' } });
    boris.send({ type: 'lock', id: 2, channel: 'tasks', name: 'task-1' });
    assert.equal((await boris.next((f) => f.type === 'reply' && f.id === 2)).result.acquired, false, 'exclusive');
    anna.ws.terminate();
    assert.deepEqual(await boris.next(message('released'), 3000), { event_type: 'LOCK_REFRESHED', entity_id: 'task-1', revision: 7, payload: { state: 'released', user_id: 'anna', reason: 'disconnected' } });
    boris.close();
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
