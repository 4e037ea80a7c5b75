import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClient } from '@herald/server/testing';
import { PROFILE_WEBHOOK, startProfile, type ProfileServer } from '../support/profile-server.js';

const webhook = { authorization: `Bearer ${PROFILE_WEBHOOK}` };

/** A portal module: opens the socket, sends the seed's handshake with the user's token, waits for the acknowledgement. */
async function module(server: ProfileServer, user: string): Promise<{ client: TestClient; ack: any }> {
  const client = new TestClient(`${server.url.replace('http', 'ws')}/ws`);
  await client.opened();
  client.send({ type: 'handshake', id: 1, token: await server.token({ sub: user, name: user.toUpperCase() }) });
  const ack = await client.next((f) => f.type === 'connected');
  return { client, ack };
}

describe('profile: scheduling (seed 000)', () => {
  it('acknowledges the handshake with the user id', async () => {
    await using server = await startProfile('scheduling');
    const { client, ack } = await module(server, 'admin-1');
    assert.equal(ack.id, 1);
    assert.equal(ack.userId, 'admin-1');
    client.close();
  });

  it('fans schedule:updated out to the other modules and notification:new to the user\'s portal and iframe', async () => {
    await using server = await startProfile('scheduling');
    const forecasts = (await module(server, 'alice')).client;
    const portal = (await module(server, 'alice')).client;
    const iframe = (await module(server, 'alice')).client;
    const other = (await module(server, 'bob')).client;
    assert.ok((await forecasts.request({ type: 'subscribe', channel: 'schedules' })).result);
    for (const c of [portal, iframe]) assert.ok((await c.request({ type: 'subscribe', channel: 'notifications:alice' })).result);
    assert.equal((await other.request({ type: 'subscribe', channel: 'notifications:alice' })).error.code, 'forbidden');

    await server.post('/api/v1/publish', { channel: 'schedules', event: 'schedule:updated', data: { employeeId: 12 } }, webhook);
    await server.post('/api/v1/publish', { channel: 'notifications:alice', event: 'notification:new', data: { text: 'Отчёт готов' } }, webhook);
    const update = await forecasts.next((f) => f.type === 'pub' && f.event === 'schedule:updated');
    assert.deepEqual(update.data, { employeeId: 12 });
    assert.equal(update.publisher, undefined, "the backend's publications carry no stamp");
    for (const c of [portal, iframe]) assert.deepEqual((await c.next((f) => f.type === 'pub' && f.event === 'notification:new')).data, { text: 'Отчёт готов' });
    for (const c of [forecasts, portal, iframe, other]) c.close();
  });

  it('shows an admin who opens the schedule later who is already editing it; not once the editing ended or the editor left', async () => {
    await using server = await startProfile('scheduling');
    const editor = (await module(server, 'alice')).client;
    assert.ok((await editor.request({ type: 'publish', channel: 'schedule:17', event: 'schedule:edit:start', data: { field: 'monday' } })).result);

    const admin = (await module(server, 'bob')).client;
    assert.ok((await admin.request({ type: 'subscribe', channel: 'schedule:17' })).result);
    const active = await admin.next((f) => f.type === 'pub' && f.event === 'schedule:edit:start');
    assert.deepEqual({ data: active.data, publisher: active.publisher, state: active.state }, { data: { field: 'monday' }, publisher: { userId: 'alice', info: { name: 'ALICE' } }, state: true });

    /** Subscribes a new module and returns the events it got before a marker published after its subscribe. */
    const opensLater = async (user: string) => {
      const client = (await module(server, user)).client;
      assert.ok((await client.request({ type: 'subscribe', channel: 'schedule:17' })).result);
      await server.post('/api/v1/publish', { channel: 'schedule:17', event: 'marker', data: { for: user } }, webhook);
      await client.next((f) => f.type === 'pub' && f.event === 'marker' && f.data.for === user);
      const events = client.pubs('schedule:17').map((p) => p.event);
      client.close();
      return events;
    };
    await editor.request({ type: 'publish', channel: 'schedule:17', event: 'schedule:edit:end', data: { field: 'monday' } });
    assert.deepEqual(await opensLater('carol'), ['marker'], 'an ended signal is not shown');

    await editor.request({ type: 'publish', channel: 'schedule:17', event: 'schedule:edit:start', data: { field: 'tuesday' } });
    editor.ws.terminate();
    await admin.next((f) => f.type === 'pub' && f.event === 'schedule:edit:end' && f.data.field === 'tuesday');
    assert.deepEqual(await opensLater('dave'), ['marker'], "the signal of an editor who left is not shown");
    admin.close();
  });

  it('shows co-editing indicators and ends them when the editor disconnects', async () => {
    await using server = await startProfile('scheduling');
    const editor = (await module(server, 'alice')).client;
    const watcher = (await module(server, 'bob')).client;
    await editor.request({ type: 'subscribe', channel: 'schedule:17' });
    await watcher.request({ type: 'subscribe', channel: 'schedule:17' });
    // The editor cannot pass itself off as someone else: the gateway stamps its token's user.
    assert.ok((await editor.request({ type: 'publish', channel: 'schedule:17', event: 'schedule:edit:start', data: { field: 'monday', publisher: { userId: 'bob' } } })).result);
    const start = await watcher.next((f) => f.type === 'pub' && f.event === 'schedule:edit:start');
    assert.deepEqual(start.data, { field: 'monday' });
    assert.deepEqual(start.publisher, { userId: 'alice', info: { name: 'ALICE' } });
    await editor.request({ type: 'publish', channel: 'schedule:17', event: 'schedule:edit:end', data: { field: 'monday' } });
    await watcher.next((f) => f.type === 'pub' && f.event === 'schedule:edit:end');

    // Starts again, then the connection drops without an end: the gateway ends it.
    await editor.request({ type: 'publish', channel: 'schedule:17', event: 'schedule:edit:start', data: { field: 'tuesday' } });
    await watcher.next((f) => f.type === 'pub' && f.event === 'schedule:edit:start' && f.data.field === 'tuesday');
    editor.ws.terminate();
    const ended = await watcher.next((f) => f.type === 'pub' && f.event === 'schedule:edit:end' && f.data.field === 'tuesday');
    assert.deepEqual(ended.data, { field: 'tuesday', userId: 'alice', reason: 'disconnected' });
    assert.deepEqual(ended.publisher, { userId: 'alice', info: { name: 'ALICE' } });
    watcher.close();
  });
});
