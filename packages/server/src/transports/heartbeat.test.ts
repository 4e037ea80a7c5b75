import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { startHerald } from '../testing/herald-fixture.js';
import { waitFor, within } from '../testing/wait.js';
import { TestClient } from '../testing/ws-client.js';

const HEARTBEAT = { heartbeat: { interval: 200, timeout: 200 } };

async function connected(url: string, options: ConstructorParameters<typeof TestClient>[1] = {}): Promise<{ client: TestClient; pings: () => number }> {
  const client = new TestClient(url, options);
  let pings = 0;
  client.ws.on('ping', () => (pings += 1));
  await client.next((f) => f.type === 'connected');
  return { client, pings: () => pings };
}

const appPings = (client: TestClient) => client.frames.filter((f) => f.type === 'ping').length;

describe('Heartbeat', () => {
  it('announces its interval and timeout in the connected frame', async () => {
    await using herald = await startHerald(HEARTBEAT);
    const { client } = await connected(`${herald.wsUrl}/ws?token=${await herald.token({ sub: 'u1' })}`);
    assert.deepEqual(client.frames[0].heartbeat, { interval: 200, timeout: 200 });
    client.close();
  });

  it('sends WebSocket pings and app ping frames, and keeps a client that answers', async () => {
    await using herald = await startHerald(HEARTBEAT);
    const { client, pings } = await connected(`${herald.wsUrl}/ws?token=${await herald.token({ sub: 'u1' })}`);
    // Several intervals, each answered by ws's automatic pong.
    await waitFor(() => pings() >= 3 && appPings(client) >= 3, 'three pings of each kind', 5000);
    assert.equal(client.ws.readyState, client.ws.OPEN);
    assert.deepEqual(client.frames.find((f) => f.type === 'ping'), { type: 'ping' });
    client.close();
  });

  it('closes a client that answers no ping', async () => {
    await using herald = await startHerald(HEARTBEAT);
    const { client, pings } = await connected(`${herald.wsUrl}/ws?token=${await herald.token({ sub: 'u1' })}`, { autoPong: false });
    const { code, reason } = await within(client.closed, 3000);
    assert.ok(pings() >= 1, 'it was pinged first');
    assert.equal(code, CloseCode.HeartbeatTimeout);
    assert.match(reason, /pong/);
    await waitFor(() => herald.server.node.sessions.size === 0, 'the session to end', 3000);
  });

  it('keeps a client that answers app pings with frames even without WebSocket pongs', async () => {
    await using herald = await startHerald(HEARTBEAT);
    const { client, pings } = await connected(`${herald.wsUrl}/ws?token=${await herald.token({ sub: 'u1' })}`, { autoPong: false });
    client.ws.on('message', (data) => {
      if (String(data) === '{"type":"ping"}') client.send({ type: 'pong' });
    });
    await waitFor(() => pings() >= 3, 'three pings', 5000);
    assert.equal(client.ws.readyState, client.ws.OPEN);
    client.close();
  });

  it("closes a route's connection only after its missedPings unanswered pings in a row", async () => {
    const route = (missedPings?: number) => ({ path: `/stream${missedPings ?? ''}`, channel: 'tasks', format: 'data' as const, ...(missedPings ? { missedPings } : {}) });
    await using herald = await startHerald({ heartbeat: { interval: 300, timeout: 100 }, routes: [route(), route(3)] });
    const token = await herald.token({ sub: 'u1' });
    const silent = async (path: string) => {
      const client = new TestClient(`${herald.wsUrl}${path}?token=${token}`, { autoPong: false });
      let pings = 0;
      client.ws.on('ping', () => (pings += 1));
      await client.opened();
      const { code } = await within(client.closed, 5000);
      return { code, pings };
    };
    const [one, three] = await Promise.all([silent('/stream'), silent('/stream3')]);
    assert.deepEqual(one, { code: CloseCode.HeartbeatTimeout, pings: 1 });
    assert.deepEqual(three, { code: CloseCode.HeartbeatTimeout, pings: 3 });
  });

  it('forgives a missed ping once the client answers again', async () => {
    await using herald = await startHerald({ heartbeat: { interval: 300, timeout: 100 }, routes: [{ path: '/stream', channel: 'tasks', format: 'data', missedPings: 2 }] });
    const client = new TestClient(`${herald.wsUrl}/stream?token=${await herald.token({ sub: 'u1' })}`, { autoPong: false });
    let pings = 0;
    // Each ping is answered after its timeout but before the next ping: each is missed, never two in a row.
    client.ws.on('ping', () => {
      pings += 1;
      setTimeout(() => client.send({ type: 'pong' }), 180);
    });
    await client.opened();
    await waitFor(() => pings >= 6, 'six pings', 5000);
    assert.equal(client.ws.readyState, client.ws.OPEN);
    client.close();
  });

  it('closes a connection that never authenticates and answers no ping', async () => {
    await using herald = await startHerald({ ...HEARTBEAT, auth: { connectTimeout: 10_000 } });
    const client = new TestClient(`${herald.wsUrl}/ws`, { autoPong: false });
    await client.opened();
    assert.equal((await within(client.closed, 3000)).code, CloseCode.HeartbeatTimeout);
  });

  it('answers an app ping with a pong carrying its id', async () => {
    await using herald = await startHerald(HEARTBEAT);
    const { client } = await connected(`${herald.wsUrl}/ws?token=${await herald.token({ sub: 'u1' })}`);
    client.send({ type: 'ping', id: 41 });
    assert.deepEqual(await client.next((f) => f.type === 'pong' && f.id === 41), { type: 'pong', id: 41 });
    client.send({ type: 'ping' });
    assert.deepEqual(await client.next((f) => f.type === 'pong' && f.id === undefined), { type: 'pong' });
    client.close();
  });

  it('sends no app ping frames when heartbeat.appPing is off', async () => {
    await using herald = await startHerald({ heartbeat: { interval: 100, timeout: 200, appPing: false } });
    const { client, pings } = await connected(`${herald.wsUrl}/ws?token=${await herald.token({ sub: 'u1' })}`);
    await waitFor(() => pings() >= 3, 'three pings', 3000);
    assert.equal(appPings(client), 0);
    client.close();
  });
});
