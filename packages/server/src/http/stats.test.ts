import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald, TEST_API_KEY, type HeraldFixture } from '../testing/herald-fixture.js';
import { connectClient, type TestClient } from '../testing/ws-client.js';

const TENANT_A_KEY = 'tenant-a-key-0123456789';
const keys = [{ key: TEST_API_KEY, name: 'test' }, { key: TENANT_A_KEY, tenant: 'a' }];

/** alice and bob in tenant a (alice twice), carol in tenant b; subscribed as listed. */
async function population(herald: HeraldFixture): Promise<TestClient[]> {
  const specs: [string, string, string[]][] = [
    ['alice', 'a', ['operators', 'city:Саратов']],
    ['alice', 'a', ['operators']],
    ['bob', 'a', ['operators']],
    ['carol', 'b', ['operators', 'directors']],
  ];
  const clients: TestClient[] = [];
  for (const [sub, tenant, channels] of specs) {
    const client = await connectClient(herald.wsUrl, await herald.token({ sub, tenant }));
    for (const channel of channels) await client.request({ type: 'subscribe', channel });
    clients.push(client);
  }
  return clients;
}

const get = async (herald: HeraldFixture, path: string, key?: string) => {
  const response = await fetch(herald.url + path, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  return { status: response.status, body: (await response.json()) as any };
};

describe('HTTP stats', () => {
  it('counts connections by transport and tenant', async () => {
    await using herald = await startHerald({ api: { keys } });
    const clients = await population(herald);
    const res = await get(herald, '/api/v1/stats/connections', TEST_API_KEY);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { scope: 'node', total: 4, users: 3, byTransport: { websocket: 4 }, byTenant: { a: 3, b: 1 } });
    const inA = await get(herald, '/api/v1/stats/connections?tenant=a', TEST_API_KEY);
    assert.deepEqual(inA.body, { scope: 'node', tenant: 'a', total: 3, users: 2, byTransport: { websocket: 3 }, byTenant: { a: 3 } });
    for (const c of clients) c.close();
  });

  it('lists rooms busiest first, without the internal tenant channel', async () => {
    await using herald = await startHerald({ api: { keys } });
    const clients = await population(herald);
    const res = await get(herald, '/api/v1/stats/rooms', TEST_API_KEY);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      scope: 'node',
      total: 4,
      rooms: [
        { tenant: 'a', channel: 'operators', subscribers: 3 },
        { tenant: 'a', channel: 'city:Саратов', subscribers: 1 },
        { tenant: 'b', channel: 'directors', subscribers: 1 },
        { tenant: 'b', channel: 'operators', subscribers: 1 },
      ],
    });
    for (const c of clients) c.close();
  });

  it('shows a tenant-bound key only its tenant', async () => {
    await using herald = await startHerald({ api: { keys } });
    const clients = await population(herald);
    const connections = await get(herald, '/api/v1/stats/connections', TENANT_A_KEY);
    assert.deepEqual(connections.body, { scope: 'node', tenant: 'a', total: 3, users: 2, byTransport: { websocket: 3 }, byTenant: { a: 3 } });
    const rooms = await get(herald, '/api/v1/stats/rooms', TENANT_A_KEY);
    assert.deepEqual(rooms.body.rooms.map((r: any) => r.tenant), ['a', 'a']);
    assert.equal(rooms.body.tenant, 'a');
    assert.equal((await get(herald, '/api/v1/stats/rooms?tenant=b', TENANT_A_KEY)).status, 403);
    for (const c of clients) c.close();
  });

  it('asks for a key unless api.publicStats is on', async () => {
    await using closed = await startHerald();
    assert.equal((await get(closed, '/api/v1/stats/connections')).status, 401);
    assert.equal((await get(closed, '/api/v1/stats/rooms')).status, 401);

    await using open = await startHerald({ api: { keys, publicStats: true } });
    const clients = await population(open);
    const anonymous = await get(open, '/api/v1/stats/connections');
    assert.equal(anonymous.status, 200);
    assert.equal(anonymous.body.total, 4);
    assert.equal((await get(open, '/api/v1/stats/rooms')).status, 200);
    // A key that is presented still counts: it must be valid, and a tenant-bound one narrows.
    assert.equal((await get(open, '/api/v1/stats/rooms', 'wrong-key-0123456789')).status, 401);
    assert.equal((await get(open, '/api/v1/stats/connections', TENANT_A_KEY)).body.total, 3);
    for (const c of clients) c.close();
  });

  it('answers for the whole cluster with scope=cluster, saying how many nodes answered', async () => {
    await using herald = await startHerald({ api: { keys } });
    const clients = await population(herald);
    const connections = await get(herald, '/api/v1/stats/connections?scope=cluster', TEST_API_KEY);
    assert.deepEqual(connections.body, { scope: 'cluster', nodes: 1, answered: 1, total: 4, users: 3, byTransport: { websocket: 4 }, byTenant: { a: 3, b: 1 } });
    const rooms = await get(herald, '/api/v1/stats/rooms?scope=cluster&tenant=a', TEST_API_KEY);
    assert.deepEqual(rooms.body, {
      scope: 'cluster',
      nodes: 1,
      answered: 1,
      tenant: 'a',
      total: 2,
      rooms: [
        { tenant: 'a', channel: 'operators', subscribers: 3 },
        { tenant: 'a', channel: 'city:Саратов', subscribers: 1 },
      ],
    });
    assert.equal((await get(herald, '/api/v1/stats/rooms?scope=everywhere', TEST_API_KEY)).status, 400);
    for (const c of clients) c.close();
  });

  it('answers an empty node', async () => {
    await using herald = await startHerald();
    assert.deepEqual((await get(herald, '/api/v1/stats/connections', TEST_API_KEY)).body, { scope: 'node', total: 0, users: 0, byTransport: {}, byTenant: {} });
    assert.deepEqual((await get(herald, '/api/v1/stats/rooms', TEST_API_KEY)).body, { scope: 'node', total: 0, rooms: [] });
    assert.equal((await get(herald, '/api/v1/stats/rooms?tenant=a%3Ab', TEST_API_KEY)).status, 400);
  });
});
