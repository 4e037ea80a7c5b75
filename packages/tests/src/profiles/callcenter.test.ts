import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { nextEvent, recordEvents } from '../support/socket-events.js';
import { PROFILE_WEBHOOK, startProfile, type ProfileServer } from '../support/profile-server.js';
import { waitFor } from '../support/wait.js';

/** The seed's React example, verbatim but for the URL and token. */
async function crmClient(server: ProfileServer, sub: string, role: string, name = sub): Promise<Socket> {
  const socket = io(server.url, { auth: { token: await server.token({ sub, role, name }) }, transports: ['websocket', 'polling'] });
  await nextEvent(socket, 'connected');
  return socket;
}

function joinRoom(socket: Socket, room: string): Promise<void> {
  // The seed's clients emit join-room without an ack; a stats poll shows when it took effect.
  socket.emit('join-room', { room });
  return new Promise((resolve) => setTimeout(resolve, 50));
}

describe('profile: callcenter (seed 001)', () => {
  it('serves the README contract: rooms, events, REST broadcasts, stats, health', async () => {
    await using server = await startProfile('callcenter');
    const operator = await crmClient(server, '7', 'operator', 'Ольга');
    const director = await crmClient(server, '1', 'director', 'Дмитрий');
    const onlineSeen = recordEvents(director, ['user:online', 'user:offline']);
    const opEvents = recordEvents(operator, ['call:new', 'call:updated', 'call:ended', 'order:new', 'order:updated', 'order:master-assigned', 'order:status-changed', 'notification']);
    const dirEvents = recordEvents(director, ['call:new', 'order:new', 'notification', 'order:status-changed']);

    await joinRoom(operator, 'operators');
    await joinRoom(operator, 'operator:7');
    await joinRoom(operator, 'city:Саратов');
    await joinRoom(director, 'directors');
    await joinRoom(director, 'city:Саратов');

    const broadcast = (path: string, body: object) => server.post(`/api/v1/broadcast/${path}`, { token: PROFILE_WEBHOOK, ...body });
    const call = { id: 101, phoneClient: '+79000000000', operatorId: 7, status: 'ringing' };
    assert.equal((await broadcast('call-new', { call, rooms: ['operators', 'operator:7'] })).status, 200);
    await broadcast('call-updated', { call: { id: 101, status: 'talking', duration: 5 }, rooms: ['operator:7'] });
    await broadcast('call-ended', { call: { id: 101, status: 'ended', duration: 60 }, rooms: ['operator:7'] });
    const order = { id: 5, clientName: 'Иван', city: 'Саратов', statusOrder: 'new' };
    await broadcast('order-new', { order, rooms: ['operators', 'directors', 'city:Саратов'] });
    await broadcast('order-updated', { order: { id: 5, statusOrder: 'assigned', masterId: 3 }, rooms: ['city:Саратов'] });
    await broadcast('order-master-assigned', { data: { orderId: 5, masterId: 3, masterName: 'Пётр' }, rooms: ['city:Саратов'] });
    await broadcast('order-status-changed', { data: { orderId: 5, oldStatus: 'new', newStatus: 'assigned' }, rooms: ['city:Саратов'] });
    await broadcast('notification', { notification: { type: 'info', message: 'Смена началась', severity: 'low', timestamp: '2026-11-22T08:00:00Z' } });

    await waitFor(() => opEvents.length === 8, 'events');
    assert.deepEqual(opEvents.map((e) => e.event), ['call:new', 'call:updated', 'call:ended', 'order:new', 'order:updated', 'order:master-assigned', 'order:status-changed', 'notification']);
    assert.deepEqual(opEvents[0].data, call, 'a socket in two target rooms gets the call once, as sent');
    assert.deepEqual(opEvents[3].data, order);
    assert.deepEqual(opEvents[5].data, { orderId: 5, masterId: 3, masterName: 'Пётр' });
    assert.equal(opEvents[7].data.message, 'Смена началась');
    await waitFor(() => dirEvents.length === 3, 'events');
    assert.deepEqual(dirEvents.map((e) => e.event).sort(), ['notification', 'order:new', 'order:status-changed']);
    assert.equal(dirEvents.filter((e) => e.event === 'call:new').length, 0, 'directors are not in operators');

    // Only operator 7 may join operator:7; a director may not join operators.
    const intruder = await crmClient(server, '8', 'operator');
    const refused = nextEvent(intruder, 'error');
    intruder.emit('join-room', { room: 'operator:7' });
    assert.equal((await refused).code, 'forbidden');
    const refusedDirector = nextEvent(director, 'error');
    director.emit('join-room', { room: 'operators' });
    assert.equal((await refusedDirector).room, 'operators');

    await waitFor(() => onlineSeen.some((e) => e.event === 'user:online' && e.data.userId === '8'), 'user:online for operator 8');
    assert.deepEqual(onlineSeen.find((e) => e.data.userId === '8')!.data, { userId: '8', name: '8', role: 'operator', roles: ['operator'] });
    intruder.disconnect();
    await waitFor(() => onlineSeen.some((e) => e.event === 'user:offline' && e.data.userId === '8'), 'user:offline for operator 8');

    // Monitoring, without a token as the README's curls do.
    assert.equal((await server.get('/health')).status, 200);
    const connections = await server.get('/api/v1/stats/connections');
    assert.equal(connections.status, 200);
    assert.equal(connections.body.total, 2);
    const rooms = await server.get('/api/v1/stats/rooms');
    assert.ok(rooms.body.rooms.some((r: any) => r.channel === 'city:Саратов' && r.subscribers === 2), JSON.stringify(rooms.body));

    // A wrong webhook token is refused.
    assert.equal((await server.post('/api/v1/broadcast/call-new', { token: 'wrong', call, rooms: ['operators'] })).status, 401);
    operator.disconnect();
    director.disconnect();
  });

  it('accepts the authenticate event and the Vue example\'s connect-then-listen', async () => {
    await using server = await startProfile('callcenter');
    const socket = io(server.url, { transports: ['websocket'] });
    await nextEvent(socket, 'connect');
    const connected = nextEvent(socket, 'connected');
    socket.emit('authenticate', { token: await server.token({ sub: '9', role: 'operator' }) });
    assert.deepEqual(await connected, { userId: '9', role: 'operator', roles: ['operator'], tenant: 'default', socketId: socket.id });
    socket.disconnect();
  });
});
