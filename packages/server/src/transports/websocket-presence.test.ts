import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '@herald/protocol';
import type { HeraldConfigInput } from '../config/schema.js';
import { startHerald } from '../testing/herald-fixture.js';
import { connectClient, type TestClient } from '../testing/ws-client.js';

const CONFIG: HeraldConfigInput = {
  channels: {
    rules: [
      { pattern: 'room:*', presence: true, joinLeave: true },
      { pattern: 'quiet:*', presence: true, joinLeave: false },
      { pattern: 'plain:*' },
    ],
  },
};

const presenceFrames = (client: TestClient, type: 'join' | 'leave', userId?: string) =>
  client.frames.filter((f) => f.type === type && (userId === undefined || f.user.userId === userId));

const userEvents = (client: TestClient) => client.pubs('$tenant').map((p) => `${p.event}:${p.data.userId}`);

describe('WebSocketTransport presence', () => {
  it('lists the users in a channel with connection counts and info', async () => {
    await using herald = await startHerald(CONFIG);
    const alice1 = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', name: 'Alice' }));
    const alice2 = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', name: 'Alice' }));
    const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
    for (const c of [alice1, alice2, bob]) await c.request({ type: 'subscribe', channel: 'room:1' });
    const reply = await bob.request({ type: 'presence', channel: 'room:1' });
    const users = [...reply.result.users].sort((a, b) => a.userId.localeCompare(b.userId));
    assert.deepEqual(reply.result.channel, 'room:1');
    assert.deepEqual(users, [
      { userId: 'alice', connections: 2, info: { name: 'Alice' } },
      { userId: 'bob', connections: 1 },
    ]);
    // A channel without presence says so.
    const none = await bob.request({ type: 'presence', channel: 'plain:1' });
    assert.equal(none.error.code, ErrorCode.BadRequest);
    for (const c of [alice1, alice2, bob]) c.close();
  });

  it("sends join on a user's first connection and leave on the last, to other subscribers", async () => {
    await using herald = await startHerald(CONFIG);
    const observer = await connectClient(herald.wsUrl, await herald.token({ sub: 'observer' }));
    await observer.request({ type: 'subscribe', channel: 'room:1' });
    const alice1 = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', name: 'Alice' }));
    await alice1.request({ type: 'subscribe', channel: 'room:1' });
    const join = await observer.next((f) => f.type === 'join');
    assert.deepEqual(join, { type: 'join', channel: 'room:1', user: { userId: 'alice', connections: 1, info: { name: 'Alice' } } });
    const alice2 = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', name: 'Alice' }));
    await alice2.request({ type: 'subscribe', channel: 'room:1' });
    alice1.close();
    await alice1.closed;
    // Bob's join, which comes after, proves none for alice came before it.
    const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
    await bob.request({ type: 'subscribe', channel: 'room:1' });
    await observer.next((f) => f.type === 'join' && f.user.userId === 'bob');
    assert.equal(presenceFrames(observer, 'join', 'alice').length, 1);
    assert.equal(presenceFrames(observer, 'leave', 'alice').length, 0);
    alice2.close();
    const leave = await observer.next((f) => f.type === 'leave');
    assert.deepEqual(leave, { type: 'leave', channel: 'room:1', user: { userId: 'alice', connections: 0, info: { name: 'Alice' } } });
    // Unsubscribing is leaving too.
    await bob.request({ type: 'unsubscribe', channel: 'room:1' });
    await observer.next((f) => f.type === 'leave' && f.user.userId === 'bob');
    assert.equal(presenceFrames(observer, 'join', 'observer').length, 0, 'no join for oneself');
    observer.close();
    bob.close();
  });

  it('sends no join or leave where joinLeave is off', async () => {
    await using herald = await startHerald(CONFIG);
    const observer = await connectClient(herald.wsUrl, await herald.token({ sub: 'observer' }));
    await observer.request({ type: 'subscribe', channel: 'quiet:1' });
    const alice = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
    await alice.request({ type: 'subscribe', channel: 'quiet:1' });
    alice.close();
    await alice.closed;
    const users = await observer.request({ type: 'presence', channel: 'quiet:1' });
    assert.deepEqual(users.result.users.map((u: { userId: string }) => u.userId), ['observer']);
    assert.equal(presenceFrames(observer, 'join').length + presenceFrames(observer, 'leave').length, 0);
    observer.close();
  });

  it('announces user:online and user:offline on $tenant to the same tenant only', async () => {
    await using herald = await startHerald(CONFIG);
    const colleague = await connectClient(herald.wsUrl, await herald.token({ sub: 'colleague', tenant: 'acme' }));
    const stranger = await connectClient(herald.wsUrl, await herald.token({ sub: 'stranger', tenant: 'globex' }));
    const alice1 = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', tenant: 'acme', roles: ['operator'], name: 'Alice' }));
    const online = await colleague.next((f) => f.type === 'pub' && f.channel === '$tenant' && f.data.userId === 'alice');
    assert.equal(online.event, 'user:online');
    assert.deepEqual(online.data, { userId: 'alice', name: 'Alice', role: 'operator', roles: ['operator'] });
    // A second connection is not a second arrival, and closing one is not leaving.
    const alice2 = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', tenant: 'acme' }));
    alice1.close();
    await alice1.closed;
    alice2.close();
    await colleague.next((f) => f.channel === '$tenant' && f.event === 'user:offline');
    assert.deepEqual(userEvents(colleague), ['user:online:alice', 'user:offline:alice'], 'not its own user:online either');
    assert.deepEqual(userEvents(alice1), [], 'a user is not told about itself');
    // The other tenant heard nothing of alice; a marker in its own tenant proves delivery works there.
    const neighbour = await connectClient(herald.wsUrl, await herald.token({ sub: 'neighbour', tenant: 'globex' }));
    await stranger.next((f) => f.channel === '$tenant' && f.data.userId === 'neighbour');
    assert.deepEqual(userEvents(stranger), ['user:online:neighbour']);
    for (const c of [colleague, stranger, neighbour]) c.close();
  });

  it('sends no user events with presence.userEvents off', async () => {
    await using herald = await startHerald({ ...CONFIG, presence: { userEvents: false } });
    const colleague = await connectClient(herald.wsUrl, await herald.token({ sub: 'colleague' }));
    await colleague.request({ type: 'subscribe', channel: 'room:1' });
    const alice = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
    await alice.request({ type: 'subscribe', channel: 'room:1' });
    await colleague.next((f) => f.type === 'join' && f.user.userId === 'alice');
    assert.deepEqual(userEvents(colleague), []);
    alice.close();
    colleague.close();
  });
});
