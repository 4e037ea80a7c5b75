import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { loadConfig } from '../config/load.js';
import type { HeraldConfigInput } from '../config/schema.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { refusedStatus } from '../testing/upgrade-status.js';
import { within } from '../testing/wait.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

const AUDIT: HeraldConfigInput = { audit: { enabled: true, operatorTenant: 'ops' } };

const adminToken = (herald: HeraldFixture) => herald.token({ sub: 'root', tenant: 'ops', roles: ['admin'] });

async function open(herald: HeraldFixture, query = '', options: ConstructorParameters<typeof TestClient>[1] = {}): Promise<TestClient> {
  const client = new TestClient(`${herald.wsUrl}/ws/audit?token=${await adminToken(herald)}${query}`, options);
  await client.opened();
  await client.next((f) => f.type === 'subscribed');
  return client;
}

describe('/ws/audit limits and edges', () => {
  it('refuses readers past audit.maxReaders with 503, on the upgrade and on SSE', async () => {
    await using herald = await startHerald({ audit: { ...AUDIT.audit, maxReaders: 2 } });
    const readers = [await open(herald), await open(herald)];
    assert.equal(await refusedStatus(`${herald.wsUrl}/ws/audit?token=${await adminToken(herald)}`), 503);
    const sse = await fetch(`${herald.url}/api/v1/audit/events?token=${await adminToken(herald)}`);
    assert.equal(sse.status, 503);
    assert.equal(((await sse.json()) as { error: { code: string } }).error.code, 'limit_exceeded');
    assert.match((await herald.api('GET', '/metrics')).body, /herald_audit_readers 2/);
    readers[0].close();
    await readers[0].closed;
    (await open(herald)).close();
    readers[1].close();
  });

  it('takes the token from Authorization: Bearer, and serves its path even where a route names it', async () => {
    await using herald = await startHerald({ ...AUDIT, routes: [{ path: '/ws/audit' }] });
    const client = new TestClient(`${herald.wsUrl}/ws/audit`, { headers: { authorization: `Bearer ${await adminToken(herald)}` } });
    assert.equal((await client.next((f) => f.type === 'subscribed')).scope, null);
    client.close();
  });

  it('replays what is kept to a reader whose position is of another epoch, saying so', async () => {
    await using herald = await startHerald(AUDIT);
    (await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'acme' }))).close();
    const reader = await open(herald, '&types=connect&epoch=gone&offset=7');
    assert.deepEqual(reader.frames[0].recovery, { recovered: false, reason: 'epoch_changed', replayed: 1 });
    assert.equal((await reader.next((f) => f.type === 'audit')).record.userId, 'ann');
    reader.close();
  });

  it('leaves the feed out of the room stats', async () => {
    await using herald = await startHerald(AUDIT);
    const reader = await open(herald);
    assert.deepEqual((await herald.api('GET', '/api/v1/stats/rooms')).body.rooms, []);
    reader.close();
  });

  it('closes a reader that floods frames with 4007, and one that answers no ping with 4010', async () => {
    await using herald = await startHerald({ ...AUDIT, limits: { messageRate: { perSecond: 1, burst: 3 } }, heartbeat: { interval: 100, timeout: 200 } });
    const flooder = await open(herald);
    for (let i = 0; i < 10; i++) flooder.send({ type: 'subscribe' });
    assert.equal((await within(flooder.closed)).code, CloseCode.RateLimited);
    const silent = await open(herald, '', { autoPong: false });
    assert.equal((await within(silent.closed)).code, CloseCode.HeartbeatTimeout);
  });

  it('is on in the dev defaults, the default tenant\'s admins seeing every tenant', () => {
    const { config } = loadConfig({ env: {} });
    assert.deepEqual([config.audit.enabled, config.audit.operatorTenant, config.audit.adminRole], [true, 'default', 'admin']);
  });
});
