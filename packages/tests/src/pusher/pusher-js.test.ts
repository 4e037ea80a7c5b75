import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectClient, SseTestClient } from '@herald/server/testing';
import { io } from 'socket.io-client';
import { waitFor } from '../support/wait.js';
import { APP, connected, disconnecting, next, OTHER_APP, pusherJs, serverSdk, startAuthEndpoint, startPusherHerald, presenceRush } from './support.js';

describe('pusher-js (Node) against Herald', () => {
  it('connects with a socket id and receives on a public channel what the pusher SDK and the Herald API publish', async () => {
    await using herald = await startPusherHerald();
    const client = pusherJs(herald);
    using _ = disconnecting(client);
    await connected(client);
    assert.match(client.connection.socket_id, /^\d+\.\d+$/);
    const channel = client.subscribe('orders');
    await next(channel, 'pusher:subscription_succeeded');
    const shipped = next(channel, 'order-shipped');
    await serverSdk(herald).trigger('orders', 'order-shipped', { id: 42 });
    assert.deepEqual(await shipped, { id: 42 });
    // A Herald publish to the app's tenant reaches the same channel.
    const fromHerald = next(channel, 'order-paid');
    const published = await herald.api('POST', '/api/v1/publish', { tenant: APP.id, channel: 'orders', event: 'order-paid', data: { id: 43 } });
    assert.equal(published.status, 200);
    assert.deepEqual(await fromHerald, { id: 43 });
  });

  it('delivers a pusher SDK publish to native WebSocket, Socket.IO and SSE clients of the app tenant, and to no other tenant', async () => {
    await using herald = await startPusherHerald();
    const sse = new SseTestClient(`${herald.url}/sse?channels=orders&token=${await herald.token({ sub: 'cid', tenant: APP.id })}`);
    const native = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: APP.id }));
    const stranger = await connectClient(herald.wsUrl, await herald.token({ sub: 'eve', tenant: OTHER_APP.id }));
    const socket = io(herald.url, { auth: { token: await herald.token({ sub: 'bob', tenant: APP.id }) }, transports: ['websocket'] });
    try {
      await native.request({ type: 'subscribe', channel: 'orders' });
      await stranger.request({ type: 'subscribe', channel: 'orders' });
      await new Promise<void>((resolve) => socket.on('connected', () => resolve()));
      await new Promise((resolve) => socket.emit('join-room', 'orders', resolve));
      await sse.next((e) => e.event === 'connected');
      const viaSocketIo = new Promise((resolve) => socket.on('order-shipped', resolve));
      await serverSdk(herald).trigger('orders', 'order-shipped', { id: 7 });
      const frame = await native.next((f) => f.type === 'pub' && f.channel === 'orders');
      assert.equal(frame.event, 'order-shipped');
      assert.deepEqual(frame.data, { id: 7 });
      assert.deepEqual(await viaSocketIo, { id: 7 });
      const viaSse = await sse.next((e) => e.event === 'order-shipped');
      assert.deepEqual(JSON.parse(viaSse.data).data, { id: 7 });
      await herald.api('POST', '/api/v1/publish', { tenant: OTHER_APP.id, channel: 'orders', event: 'marker', data: 1 });
      const seen = await stranger.next((f) => f.type === 'pub' && f.channel === 'orders');
      assert.equal(seen.event, 'marker', 'the other app saw nothing before its own publication');
    } finally {
      native.close();
      stranger.close();
      socket.close();
      sse.close();
    }
  });

  it("announces no user:online for Pusher connections, which are of no particular user", async () => {
    await using herald = await startPusherHerald();
    const native = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: APP.id }));
    const peer = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob', tenant: APP.id }));
    const client = pusherJs(herald);
    using _ = disconnecting(client);
    try {
      await connected(client);
      await next(client.subscribe('lobby'), 'pusher:subscription_succeeded');
      client.disconnect();
      peer.close();
      // Bob's own departure is told: everything before it would have been too.
      await native.next((f) => f.type === 'pub' && f.event === 'user:offline' && f.data.userId === 'bob');
      assert.deepEqual(native.pubs('$tenant').map((p) => `${p.event}:${p.data.userId}`), ['user:online:bob', 'user:offline:bob']);
    } finally {
      native.close();
    }
  });

  it('subscribes private channels with the app auth endpoint signature and refuses a forged one', async () => {
    await using herald = await startPusherHerald();
    await using auth = await startAuthEndpoint();
    await using forger = await startAuthEndpoint({ ...APP, secret: 'not-the-app-secret' });
    const client = pusherJs(herald, { auth: auth.url });
    const forged = pusherJs(herald, { auth: forger.url });
    using _ = disconnecting(client, forged);
    const channel = client.subscribe('private-orders.1');
    await next(channel, 'pusher:subscription_succeeded');
    const refused = await next(forged.subscribe('private-orders.1'), 'pusher:subscription_error');
    assert.equal(refused.status, 401);
    assert.match(refused.error, /Invalid signature/);
    const got = next(channel, 'status');
    const rejected: string[] = [];
    forged.channel('private-orders.1')?.bind('status', () => rejected.push('leak'));
    await serverSdk(herald).trigger('private-orders.1', 'status', 'packed');
    assert.equal(await got, 'packed');
    assert.deepEqual(rejected, []);
  });

  it('relays private-encrypted channels untouched: pusher-js decrypts, a native client of the tenant gets only the ciphertext', async () => {
    await using herald = await startPusherHerald();
    const masterKey = Buffer.alloc(32, 7).toString('base64');
    await using auth = await startAuthEndpoint(APP, {}, masterKey);
    const client = pusherJs(herald, { auth: auth.url });
    const native = await connectClient(herald.wsUrl, await herald.token({ sub: 'ops', tenant: APP.id }));
    using _ = disconnecting(client);
    try {
      await native.request({ type: 'subscribe', channel: 'private-encrypted-vault' });
      const vault = client.subscribe('private-encrypted-vault');
      await next(vault, 'pusher:subscription_succeeded');
      const secret = next(vault, 'secret');
      await serverSdk(herald, APP, masterKey).trigger('private-encrypted-vault', 'secret', { code: 'plain-1234' });
      assert.deepEqual(await secret, { code: 'plain-1234' });
      const relayed = await native.next((f) => f.type === 'pub' && f.channel === 'private-encrypted-vault');
      assert.equal(typeof relayed.data, 'string', 'kept as the string the SDK sent');
      assert.deepEqual(Object.keys(JSON.parse(relayed.data)).sort(), ['ciphertext', 'nonce']);
      assert.ok(!relayed.data.includes('plain-1234'));
    } finally {
      native.close();
    }
  });

  it('keeps presence: the member list on subscribe, member_added and member_removed, the own id', async () => {
    await using herald = await startPusherHerald();
    await using auth = await startAuthEndpoint(APP, { ann: { id: 'ann', info: { name: 'Ann' } }, bob: { id: 'bob', info: { name: 'Bob' } } });
    const ann = pusherJs(herald, { auth: auth.url, user: 'ann' });
    const bob = pusherJs(herald, { auth: auth.url, user: 'bob' });
    using _ = disconnecting(ann, bob);
    const annRoom = ann.subscribe('presence-room') as any;
    const annMembers = await next(annRoom, 'pusher:subscription_succeeded');
    assert.equal(annMembers.count, 1);
    assert.equal(annMembers.me.id, 'ann');
    const added = next(annRoom, 'pusher:member_added');
    const bobMembers = await next(bob.subscribe('presence-room'), 'pusher:subscription_succeeded');
    assert.equal(bobMembers.count, 2);
    assert.deepEqual(bobMembers.members, { ann: { name: 'Ann' }, bob: { name: 'Bob' } });
    assert.deepEqual(await added, { id: 'bob', info: { name: 'Bob' } });
    const users = await serverSdk(herald).get({ path: '/channels/presence-room/users' });
    assert.deepEqual(((await users.json()) as any).users.map((u: any) => u.id).sort(), ['ann', 'bob']);
    const removed = next(annRoom, 'pusher:member_removed');
    bob.unsubscribe('presence-room');
    assert.deepEqual(await removed, { id: 'bob', info: { name: 'Bob' } });
    assert.equal(annRoom.members.count, 1);
  });

  it('gives members who subscribe at once each other, each told once: in the list or as member_added', async () => {
    await using herald = await startPusherHerald();
    await presenceRush([herald], ['u1', 'u2', 'u3', 'u4', 'u5']);
  });

  it('relays client events to the other members only, with the sender user id on presence channels', async () => {
    await using herald = await startPusherHerald();
    await using auth = await startAuthEndpoint(APP, { ann: { id: 'ann' }, bob: { id: 'bob' } });
    const ann = pusherJs(herald, { auth: auth.url, user: 'ann' });
    const bob = pusherJs(herald, { auth: auth.url, user: 'bob' });
    using _ = disconnecting(ann, bob);
    const annRoom = ann.subscribe('presence-chat');
    const bobRoom = bob.subscribe('presence-chat');
    await Promise.all([next(annRoom, 'pusher:subscription_succeeded'), next(bobRoom, 'pusher:subscription_succeeded')]);
    const echoed: unknown[] = [];
    annRoom.bind('client-typing', (d: unknown) => echoed.push(d));
    const got = new Promise<[unknown, any]>((resolve) => bobRoom.bind('client-typing', (d: unknown, meta: any) => resolve([d, meta])));
    assert.equal(annRoom.trigger('client-typing', { typing: true }), true);
    const [data, meta] = await got;
    assert.deepEqual(data, { typing: true });
    assert.equal(meta.user_id, 'ann');
    // A public channel takes none.
    const errors: any[] = [];
    ann.connection.bind('error', (e: any) => errors.push(e.data ?? e.error?.data));
    ann.subscribe('lobby');
    await next(ann.channel('lobby'), 'pusher:subscription_succeeded');
    ann.channel('lobby').trigger('client-hello', {});
    await waitFor(() => errors.length === 1, 'the refusal');
    assert.match(errors[0].message, /private and presence channels only/);
    assert.deepEqual(echoed, [], 'the sender does not get its own event back');
  });

  it('rate-limits client events with 4301 and keeps the connection', async () => {
    await using herald = await startPusherHerald();
    await using auth = await startAuthEndpoint();
    const client = pusherJs(herald, { auth: auth.url });
    using _ = disconnecting(client);
    const channel = client.subscribe('private-burst');
    await next(channel, 'pusher:subscription_succeeded');
    const errors: any[] = [];
    client.connection.bind('error', (e: any) => errors.push(e.data));
    for (let i = 0; i < 12; i++) channel.trigger('client-tick', { i });
    await waitFor(() => errors.some((e) => e?.code === 4301), 'a rate-limit error');
    assert.equal(client.connection.state, 'connected');
  });

  it('refuses client events of an app that has them off', async () => {
    await using herald = await startPusherHerald();
    await using auth = await startAuthEndpoint(OTHER_APP);
    const client = pusherJs(herald, { key: OTHER_APP.key, auth: auth.url });
    using _ = disconnecting(client);
    const channel = client.subscribe('private-x');
    await next(channel, 'pusher:subscription_succeeded');
    const error = new Promise<any>((resolve) => client.connection.bind('error', (e: any) => resolve(e.data)));
    channel.trigger('client-x', {});
    assert.match((await error).message, /not enabled for this app/);
  });

  it('leaves out the socket named in socket_id (toOthers)', async () => {
    await using herald = await startPusherHerald();
    const [a, b] = [pusherJs(herald), pusherJs(herald)];
    using _ = disconnecting(a, b);
    const [ca, cb] = [a.subscribe('news'), b.subscribe('news')];
    await Promise.all([next(ca, 'pusher:subscription_succeeded'), next(cb, 'pusher:subscription_succeeded')]);
    const seenByA: unknown[] = [];
    ca.bind('story', (d: unknown) => seenByA.push(d));
    const toB = next(cb, 'story');
    await serverSdk(herald).trigger('news', 'story', { n: 1 }, { socket_id: a.connection.socket_id });
    assert.deepEqual(await toB, { n: 1 });
    const marker = next(ca, 'marker');
    await serverSdk(herald).trigger('news', 'marker', {});
    await marker;
    assert.deepEqual(seenByA, []);
  });

  it('refuses an unknown app key with 4001 and does not reconnect', async () => {
    await using herald = await startPusherHerald();
    const client = pusherJs(herald, { key: 'no-such-key' });
    using _ = disconnecting(client);
    const error = await new Promise<any>((resolve) => client.connection.bind('error', (e: any) => resolve(e.error?.data ?? e.data)));
    assert.equal(error.code, 4001);
    await waitFor(() => ['failed', 'disconnected', 'unavailable'].includes(client.connection.state), 'the client to give up');
  });

  it('signs a user in, sends to them, and terminates their connections for good', async () => {
    await using herald = await startPusherHerald();
    await using auth = await startAuthEndpoint(APP, { ann: { id: 'ann', info: { name: 'Ann' } } });
    const client = pusherJs(herald, { auth: auth.url, user: 'ann' });
    using _ = disconnecting(client);
    const signedIn = new Promise<void>((resolve) => client.connection.bind('message', (m: any) => m.event === 'pusher:signin_success' && resolve()));
    client.signin();
    await signedIn;
    const sdk = serverSdk(herald);
    // The user's own channel is subscribed by pusher-js after the sign-in.
    await waitFor(async () => ((await (await sdk.get({ path: '/channels/#server-to-user-ann'.replace('#', '%23') })).json()) as any).occupied, 'the user channel');
    const personal = new Promise((resolve) => client.user.bind('notice', resolve));
    await sdk.sendToUser('ann', 'notice', { hello: 'Ann' });
    assert.deepEqual(await personal, { hello: 'Ann' });
    const closed = new Promise<any>((resolve) => client.connection.bind('error', (e: any) => resolve(e.error?.data ?? e.data)));
    await sdk.terminateUserConnections('ann');
    assert.equal((await closed).code, 4009);
    await waitFor(() => client.connection.state !== 'connected', 'the connection to end');
    await new Promise((r) => setTimeout(r, 500));
    assert.notEqual(client.connection.state, 'connected', 'pusher-js does not come back after 4009');
  });
});
