import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startRedisServer, type RedisServer } from '@herald/server/testing';
import { describeWithRedis, startCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { APP, connected, disconnecting, next, PUSHER_CONFIG, pusherJs, serverSdk, startAuthEndpoint, presenceRush } from './support.js';

describeWithRedis('Pusher apps on two nodes over Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it('gives a pusher-js client on each node the other one in presence, events published on either node, and client events across', async () => {
    await using cluster = await startCluster(redis, 2, PUSHER_CONFIG);
    const [a, b] = cluster.nodes;
    await using auth = await startAuthEndpoint(APP, { ann: { id: 'ann', info: { name: 'Ann' } }, bob: { id: 'bob', info: { name: 'Bob' } } });
    const ann = pusherJs(a, { auth: auth.url, user: 'ann' });
    const bob = pusherJs(b, { auth: auth.url, user: 'bob' });
    using _ = disconnecting(ann, bob);
    const annRoom = ann.subscribe('presence-team') as any;
    await next(annRoom, 'pusher:subscription_succeeded');
    const added = next(annRoom, 'pusher:member_added');
    const bobRoom = bob.subscribe('presence-team') as any;
    const bobMembers = await next(bobRoom, 'pusher:subscription_succeeded');
    assert.deepEqual(bobMembers.members, { ann: { name: 'Ann' }, bob: { name: 'Bob' } });
    assert.deepEqual(await added, { id: 'bob', info: { name: 'Bob' } });

    // Published through node A's API, received on node B; and the other way round.
    const onB = next(bobRoom, 'update-a');
    await serverSdk(a).trigger('presence-team', 'update-a', { from: 'a' });
    assert.deepEqual(await onB, { from: 'a' });
    const onA = next(annRoom, 'update-b');
    await serverSdk(b).trigger('presence-team', 'update-b', { from: 'b' });
    assert.deepEqual(await onA, { from: 'b' });

    const whisper = new Promise<[unknown, any]>((resolve) => annRoom.bind('client-wave', (d: unknown, meta: any) => resolve([d, meta])));
    bobRoom.trigger('client-wave', { hi: true });
    const [data, meta] = await whisper;
    assert.deepEqual(data, { hi: true });
    assert.equal(meta.user_id, 'bob');

    // Either node answers for both nodes' channels.
    const users = (await (await serverSdk(a).get({ path: '/channels/presence-team/users' })).json()) as any;
    assert.deepEqual(users.users.map((u: any) => u.id).sort(), ['ann', 'bob']);
    const info = (await (await serverSdk(b).get({ path: '/channels/presence-team', params: { info: 'user_count,subscription_count' } })).json()) as any;
    assert.deepEqual(info, { occupied: true, user_count: 2, subscription_count: 2 });

    // Bob signs in on node B; node A's API terminates his connections there.
    const signedIn = new Promise<void>((resolve) => bob.connection.bind('message', (m: any) => m.event === 'pusher:signin_success' && resolve()));
    bob.signin();
    await signedIn;
    const removed = next(annRoom, 'pusher:member_removed');
    const terminated = new Promise<any>((resolve) => bob.connection.bind('error', (e: any) => resolve(e.error?.data ?? e.data)));
    await serverSdk(a).terminateUserConnections('bob');
    assert.equal((await terminated).code, 4009);
    assert.deepEqual(await removed, { id: 'bob', info: { name: 'Bob' } });
    await waitFor(() => annRoom.members.count === 1, 'one member left');
  });

  it('gives members who subscribe at once on both nodes each other, each told once: in the list or as member_added', async () => {
    await using cluster = await startCluster(redis, 2, PUSHER_CONFIG);
    await presenceRush(cluster.nodes, ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
  });
});
