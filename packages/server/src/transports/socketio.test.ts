import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { sleep, waitFor } from '../testing/wait.js';


function once<T = any>(socket: Socket, event: string, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

async function connect(herald: HeraldFixture, claims: Parameters<HeraldFixture['token']>[0], options: Parameters<typeof io>[1] = {}, nsp = '/'): Promise<Socket> {
  const socket = io(herald.url + nsp, { auth: { token: await herald.token(claims) }, transports: ['websocket'], reconnectionDelay: 100, ...options });
  await once(socket, 'connected');
  return socket;
}

async function join(socket: Socket, room: string): Promise<any> {
  return new Promise((resolve) => socket.emit('join-room', { room }, resolve));
}

describe('SocketIoTransport', () => {
  it('authenticates from auth.token, answers connected, joins rooms and delivers events by name', async () => {
    await using herald = await startHerald();
    const socket = io(herald.url, { auth: { token: await herald.token({ sub: 'op-1', roles: ['operator'] }) }, transports: ['websocket'] });
    const connected = await once(socket, 'connected');
    assert.deepEqual({ userId: connected.userId, role: connected.role, socketId: connected.socketId }, { userId: 'op-1', role: 'operator', socketId: socket.id });
    assert.equal((await join(socket, 'operators')).ok, true);
    const arrived = once(socket, 'call:new');
    await herald.api('POST', '/api/v1/publish', { channel: 'operators', event: 'call:new', data: { id: 7, phoneClient: '+7' } });
    assert.deepEqual(await arrived, { id: 7, phoneClient: '+7' });
    socket.disconnect();
  });

  it('accepts an authenticate event after connecting', async () => {
    await using herald = await startHerald();
    const socket = io(herald.url, { transports: ['websocket'] });
    await once(socket, 'connect');
    socket.emit('authenticate', { token: await herald.token({ sub: 'op-2', roles: ['director'] }) });
    const connected = await once(socket, 'connected');
    assert.equal(connected.userId, 'op-2');
    assert.equal(connected.role, 'director');
    socket.disconnect();
  });

  it('refuses a bad token with connect_error, and a wrong authenticate with an error event', async () => {
    await using herald = await startHerald();
    const bad = io(herald.url, { auth: { token: 'nope' }, transports: ['websocket'], reconnection: false });
    const err = await once<Error & { data?: any }>(bad, 'connect_error');
    assert.match(err.message, /unauthorized/);
    assert.equal(err.data.code, 4001);
    const late = io(herald.url, { transports: ['websocket'], reconnection: false });
    await once(late, 'connect');
    const error = once(late, 'error');
    const disconnected = once(late, 'disconnect');
    late.emit('authenticate', { token: 'nope' });
    assert.equal((await error).code, 4001);
    await disconnected;
    bad.close();
  });

  it('ends a socket that never authenticates', async () => {
    await using herald = await startHerald({ auth: { connectTimeout: 200 } });
    const socket = io(herald.url, { transports: ['websocket'], reconnection: false });
    const error = once(socket, 'error');
    const disconnected = once(socket, 'disconnect');
    assert.equal((await error).code, 4004);
    await disconnected;
  });

  it('answers a denied join-room with an error event carrying the reason', async () => {
    await using herald = await startHerald({ channels: { rules: [{ pattern: 'operator:{userId}', subscribe: 'owner' }] } });
    const socket = await connect(herald, { sub: '5' });
    assert.equal((await join(socket, 'operator:5')).ok, true);
    const error = once(socket, 'error');
    const answer = await join(socket, 'operator:6');
    assert.equal(answer.error.code, 'forbidden');
    const event = await error;
    assert.equal(event.code, 'forbidden');
    assert.equal(event.room, 'operator:6');
    assert.match(event.message, /not allowed/);
    socket.disconnect();
  });

  it('delivers a broadcast to several rooms of one socket once', async () => {
    await using herald = await startHerald();
    const socket = await connect(herald, { sub: '5' });
    await join(socket, 'operators');
    await join(socket, 'operator:5');
    const got: unknown[] = [];
    socket.on('call:new', (call) => got.push(call));
    await herald.api('POST', '/api/v1/publish', { channels: ['operators', 'operator:5'], event: 'call:new', data: { id: 1 } });
    await herald.api('POST', '/api/v1/publish', { channel: 'operators', event: 'call:new', data: { id: 2 } });
    await waitFor(() => got.length >= 2, 'both publications');
    await sleep(50);
    assert.deepEqual(got, [{ id: 1 }, { id: 2 }]);
    socket.disconnect();
  });

  it('works over long-polling', async () => {
    await using herald = await startHerald();
    const socket = await connect(herald, { sub: 'p' }, { transports: ['polling'] });
    await join(socket, 'news');
    const arrived = once(socket, 'news:new');
    await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'news:new', data: { n: 1 } });
    assert.deepEqual(await arrived, { n: 1 });
    socket.disconnect();
  });

  it('serves configured namespaces and refuses unknown ones', async () => {
    await using herald = await startHerald({ socketio: { namespaces: ['/ws/dashboard'] } });
    const socket = await connect(herald, { sub: 'm' }, {}, '/ws/dashboard');
    socket.disconnect();
    const unknown = io(herald.url + '/nope', { auth: { token: await herald.token({ sub: 'm' }) }, transports: ['websocket'], reconnection: false });
    const err = await once<Error>(unknown, 'connect_error');
    assert.match(err.message, /Invalid namespace/);
    unknown.close();
  });

  it('recovers missed events after a short disconnect (connection state recovery)', async () => {
    await using herald = await startHerald();
    const socket = await connect(herald, { sub: 'r' });
    await join(socket, 'orders');
    await join(socket, 'calls');
    const got: number[] = [];
    socket.on('order:new', (o) => got.push(o.n));
    socket.on('call:new', (c) => got.push(c.n));
    await herald.api('POST', '/api/v1/publish', { channel: 'orders', event: 'order:new', data: { n: 1 } });
    await waitFor(() => got.length >= 1, 'the first publication');
    const reconnected = once(socket, 'connected');
    socket.io.engine.close();
    await herald.api('POST', '/api/v1/publish', { channel: 'calls', event: 'call:new', data: { n: 2 } });
    await herald.api('POST', '/api/v1/publish', { channel: 'orders', event: 'order:new', data: { n: 3 } });
    await reconnected;
    assert.equal(socket.recovered, true);
    await herald.api('POST', '/api/v1/publish', { channel: 'calls', event: 'call:new', data: { n: 4 } });
    await waitFor(() => got.length >= 4, 'every publication');
    await sleep(50);
    assert.deepEqual(got, [1, 2, 3, 4]);
    socket.disconnect();
  });

  it('sends user:online and user:offline to the tenant', async () => {
    await using herald = await startHerald();
    const watcher = await connect(herald, { sub: 'w', tenant: 'acme' });
    const online = once(watcher, 'user:online');
    const other = await connect(herald, { sub: 'o', tenant: 'acme', name: 'Olga', roles: ['operator'] });
    assert.deepEqual(await online, { userId: 'o', name: 'Olga', role: 'operator', roles: ['operator'] });
    const offline = once(watcher, 'user:offline');
    other.disconnect();
    assert.equal((await offline).userId, 'o');
    watcher.disconnect();
  });

  it('answers unknown and malformed events with an error event and stays up', async () => {
    await using herald = await startHerald();
    const socket = await connect(herald, { sub: 'x' });
    const unknown = once(socket, 'error');
    socket.emit('frobnicate', {});
    assert.equal((await unknown).code, 'unknown_frame');
    const bad = once(socket, 'error');
    socket.emit('join-room', { nope: 1 });
    assert.equal((await bad).field, 'room');
    const controlChar = once(socket, 'error');
    socket.emit('join-room', { room: 'a\u0000b' });
    assert.equal((await controlChar).code, 'invalid_channel');
    assert.equal(socket.connected, true);
    socket.disconnect();
  });

  it('does not deliver events with socket.io reserved names', async () => {
    await using herald = await startHerald();
    const socket = await connect(herald, { sub: 'x' });
    await join(socket, 'c');
    let disconnects = 0;
    socket.on('disconnect', () => (disconnects += 1));
    await herald.api('POST', '/api/v1/publish', { channel: 'c', event: 'disconnect', data: {} });
    const after = once(socket, 'after');
    await herald.api('POST', '/api/v1/publish', { channel: 'c', event: 'after', data: 1 });
    assert.equal(await after, 1);
    assert.equal(disconnects, 0);
    socket.disconnect();
  });

  it('publishes (stamped with the publisher), locks and unlocks for a client that passes no ack callback', async () => {
    await using herald = await startHerald({ channels: { rules: [{ pattern: 'doc:*', subscribe: 'all', publish: 'all', locks: { ttl: '5s' } }] } });
    const ann = await connect(herald, { sub: 'ann', name: 'Ann' });
    const bob = await connect(herald, { sub: 'bob' });
    await join(bob, 'doc:1');
    const published = once(bob, 'note');
    // The stamp is the token's user, whatever the client wrote in its data.
    ann.emit('publish', { channel: 'doc:1', event: 'note', data: { text: 'hi', publisher: { userId: 'boss' } } });
    assert.deepEqual(await published, { text: 'hi', publisher: { userId: 'ann', info: { name: 'Ann' } } });
    const acquired = once(bob, 'lock:acquired');
    ann.emit('lock', { channel: 'doc:1', name: 'title' });
    assert.equal((await acquired).userId, 'ann');
    assert.equal((await bob.emitWithAck('lock', { channel: 'doc:1', name: 'title' })).holder.userId, 'ann');
    const released = once(bob, 'lock:released');
    ann.emit('unlock', { channel: 'doc:1', name: 'title' });
    assert.equal((await released).userId, 'ann');
    ann.disconnect();
    bob.disconnect();
  });

  it('gives a socket that joins a room the signals already started there, with its publisher, and not ended ones', async () => {
    const rules = [{ pattern: 'doc:*', subscribe: 'all' as const, publish: 'all' as const, signals: { 'edit:start': 'edit:end' } }];
    await using herald = await startHerald({ channels: { rules }, socketio: { recoveryWindow: '1m' } });
    const ann = await connect(herald, { sub: 'ann', name: 'Ann' });
    await ann.emitWithAck('publish', { channel: 'doc:1', event: 'edit:start', data: { field: 'title' } });
    const bob = await connect(herald, { sub: 'bob' });
    const started = once(bob, 'edit:start');
    await join(bob, 'doc:1');
    assert.deepEqual(await started, { field: 'title', publisher: { userId: 'ann', info: { name: 'Ann' } } });

    await ann.emitWithAck('publish', { channel: 'doc:1', event: 'edit:end', data: { field: 'title' } });
    const carol = await connect(herald, { sub: 'carol' });
    const seen: string[] = [];
    carol.onAny((event) => seen.push(event));
    await join(carol, 'doc:1');
    const marker = once(carol, 'marker');
    await herald.api('POST', '/api/v1/publish', { channel: 'doc:1', event: 'marker' });
    await marker;
    assert.deepEqual(seen, ['marker'], 'an ended signal is not shown');
    for (const s of [ann, bob, carol]) s.disconnect();
  });

  it('takes and releases soft locks with lock / unlock events, and answers a bad body', async () => {
    await using herald = await startHerald({ channels: { rules: [{ pattern: 'doc:*', subscribe: 'all', locks: { ttl: '5s' } }] } });
    const ann = await connect(herald, { sub: 'ann' });
    const bob = await connect(herald, { sub: 'bob' });
    await join(bob, 'doc:1');
    const acquired = once(bob, 'lock:acquired');
    const taken = await ann.emitWithAck('lock', { channel: 'doc:1', name: 'title' });
    assert.equal(taken.acquired, true);
    assert.equal(taken.holder.userId, 'ann');
    assert.equal((await acquired).userId, 'ann');
    const refused = await bob.emitWithAck('lock', { channel: 'doc:1', name: 'title' });
    assert.deepEqual([refused.acquired, refused.holder.userId], [false, 'ann']);
    const released = once(bob, 'lock:released');
    assert.deepEqual(await ann.emitWithAck('unlock', { channel: 'doc:1', name: 'title' }), { released: true });
    assert.equal((await released).reason, 'released');
    const bad = await ann.emitWithAck('lock', { channel: 'doc:1' });
    assert.equal(bad.error.code, 'bad_request');
    ann.disconnect();
    bob.disconnect();
  });
});
