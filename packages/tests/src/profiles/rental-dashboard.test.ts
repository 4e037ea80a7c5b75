import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { nextEvent, recordEvents } from '../support/socket-events.js';
import { PROFILE_WEBHOOK, startProfile, type ProfileServer } from '../support/profile-server.js';
import { sleep, waitFor } from '../support/wait.js';

const EVENTS = ['stock_alert', 'payment_error', 'rental_created'];
const webhook = { authorization: `Bearer ${PROFILE_WEBHOOK}` };

/** The seed's useWebSocketEvents(): connect to the namespace and listen; no join. */
async function dashboard(server: ProfileServer, sub: string, tenantId: string, role: string): Promise<Socket> {
  const socket = io(`${server.url}/ws/dashboard`, {
    auth: { token: await server.token({ sub, tenantId, role }) },
    transports: ['websocket'],
    reconnectionDelay: 100,
  });
  await nextEvent(socket, 'connected');
  return socket;
}

function event(type: string, data: object) {
  return { eventId: crypto.randomUUID(), timestamp: new Date().toISOString(), type, data };
}

async function publish(server: ProfileServer, tenant: string, e: ReturnType<typeof event>) {
  return server.post('/api/v1/publish', { tenant, channel: 'dashboard', event: e.type, data: e, idempotencyKey: e.eventId }, webhook);
}

describe('profile: rental-dashboard (seed 003)', () => {
  it('applies the role table and keeps tenants apart', async () => {
    await using server = await startProfile('rental-dashboard');
    const operator = await dashboard(server, 'o1', 'acme', 'OPERATOR');
    const manager = await dashboard(server, 'm1', 'acme', 'STORE_MANAGER');
    const admin = await dashboard(server, 'a1', 'acme', 'ADMIN');
    const otherTenant = await dashboard(server, 'm2', 'globex', 'STORE_MANAGER');
    const seen = new Map([operator, manager, admin, otherTenant].map((s) => [s, recordEvents(s, EVENTS)]));

    for (const type of EVENTS) assert.equal((await publish(server, 'acme', event(type, { n: type }))).status, 200);
    await waitFor(() => seen.get(admin)!.length === 3 && seen.get(manager)!.length === 3 && seen.get(operator)!.length === 1, 'deliveries');
    await sleep(100);
    assert.deepEqual(seen.get(operator)!.map((e) => e.event), ['stock_alert']);
    assert.deepEqual(seen.get(manager)!.map((e) => e.event), EVENTS);
    assert.deepEqual(seen.get(admin)!.map((e) => e.event), EVENTS);
    assert.equal(seen.get(otherTenant)!.length, 0, 'nothing crosses tenants');
    assert.equal(seen.get(manager)![0].data.type, 'stock_alert');
    for (const s of [operator, manager, admin, otherTenant]) s.disconnect();
  });

  it('refuses a broadcast without a tenant (AC7: the tenant is checked before every broadcast)', async () => {
    await using server = await startProfile('rental-dashboard');
    const manager = await dashboard(server, 'm1', 'acme', 'STORE_MANAGER');
    const seen = recordEvents(manager, EVENTS);
    const e = event('stock_alert', { n: 1 });
    const res = await server.post('/api/v1/publish', { channel: 'dashboard', event: e.type, data: e }, webhook);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.field, 'tenant');
    assert.equal((await publish(server, 'acme', e)).status, 200);
    await waitFor(() => seen.length === 1, 'the broadcast that names its tenant');
    manager.disconnect();
  });

  it('refuses a token without a tenant', async () => {
    await using server = await startProfile('rental-dashboard');
    const socket = io(`${server.url}/ws/dashboard`, { auth: { token: await server.token({ sub: 'x', role: 'ADMIN' }) }, transports: ['websocket'], reconnection: false });
    const err = await nextEvent<Error>(socket, 'connect_error');
    assert.match(err.message, /tenant/);
  });

  it('replays missed events after a reconnect, within the role table, without duplicates', async () => {
    await using server = await startProfile('rental-dashboard');
    const operator = await dashboard(server, 'o1', 'acme', 'OPERATOR');
    const manager = await dashboard(server, 'm1', 'acme', 'STORE_MANAGER');
    const opSeen = recordEvents(operator, EVENTS);
    const mgrSeen = recordEvents(manager, EVENTS);
    await publish(server, 'acme', event('stock_alert', { n: 1 }));
    await waitFor(() => opSeen.length === 1 && mgrSeen.length === 1, 'first event');

    const back = [nextEvent(operator, 'connected'), nextEvent(manager, 'connected')];
    operator.io.engine.close();
    manager.io.engine.close();
    const missed = [event('payment_error', { n: 2 }), event('rental_created', { n: 3 }), event('stock_alert', { n: 4 })];
    for (const e of missed) await publish(server, 'acme', e);
    // A retried publish (same eventId) is not delivered twice.
    await publish(server, 'acme', missed[2]);
    await Promise.all(back);
    await waitFor(() => mgrSeen.length === 4 && opSeen.length === 2, 'the missed events');
    await sleep(100);
    assert.equal(operator.recovered && manager.recovered, true);
    assert.deepEqual(mgrSeen.map((e) => e.data.data.n), [1, 2, 3, 4]);
    assert.deepEqual(opSeen.map((e) => e.data.data.n), [1, 4]);
    operator.disconnect();
    manager.disconnect();
  });

  it('allows 50 connections per tenant', async () => {
    await using server = await startProfile('rental-dashboard');
    const sockets: Socket[] = [];
    for (let i = 0; i < 50; i++) sockets.push(await dashboard(server, `u${i}`, 'acme', 'OPERATOR'));
    // The 51st is turned away in a way socket.io-client retries by itself, and gets in once there is room.
    const extra = io(`${server.url}/ws/dashboard`, { auth: { token: await server.token({ sub: 'u50', tenantId: 'acme', role: 'OPERATOR' }) }, transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 100 });
    let admitted = false;
    extra.on('connected', () => (admitted = true));
    try {
      await sleep(500);
      assert.equal(admitted, false);
      assert.equal(extra.active, true);
      const elsewhere = await dashboard(server, 'g1', 'globex', 'OPERATOR');
      elsewhere.disconnect();
      sockets.shift()!.disconnect();
      await waitFor(() => admitted, 'the 51st to get in');
    } finally {
      for (const s of [...sockets, extra]) s.disconnect();
    }
  });
});
