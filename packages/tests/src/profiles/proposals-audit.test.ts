import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseTestClient, TestClient, waitFor } from '@herald/server/testing';
import { PROFILE_WEBHOOK, startProfile } from '../support/profile-server.js';

const webhook = { authorization: `Bearer ${PROFILE_WEBHOOK}` };
const records = (client: TestClient) => client.frames.filter((f) => f.type === 'audit').map((f) => f.record);

describe('profile: proposals (seed 002), the audit trail', () => {
  it('streams audit events to an admin on /ws/audit in real time, only those its filter matches', async () => {
    await using server = await startProfile('proposals');
    const ws = server.url.replace('http', 'ws');
    const admin = await server.token({ sub: 'admin1', roles: ['admin'] });
    const all = new TestClient(`${ws}/ws/audit?token=${admin}`);
    const publishes = new TestClient(`${ws}/ws/audit?token=${admin}&types=publish&channel=project:*`);
    for (const reader of [all, publishes]) await reader.next((f) => f.type === 'subscribed');

    const dev = new TestClient(`${ws}/ws/projects/1?token=${await server.token({ sub: 'dev1' })}`);
    await dev.opened();
    await new TestClient(`${ws}/ws/projects/1?token=bad`).closed;
    await server.post('/api/v1/publish', { channel: 'project:1', event: 'token', data: { type: 'token', content: 'Hi' } }, webhook);
    await server.post('/api/v1/publish', { channel: 'proposal:42', event: 'output', data: { type: 'output', line: 'ok', stream: 'stdout' } }, webhook);
    await waitFor(() => records(all).filter((r) => r.type === 'publish').length === 2, 'both publishes');
    assert.deepEqual(
      records(all).map((r) => [r.type, r.userId ?? r.reason ?? r.channels?.[0]]),
      [['connect', 'dev1'], ['denial', 'unauthorized'], ['publish', 'project:1'], ['publish', 'proposal:42']],
    );
    await waitFor(() => records(publishes).length === 1, 'the project publish');
    assert.deepEqual(records(publishes).map((r) => [r.source, r.channels, r.event]), [['api', ['project:1'], 'token']]);

    // The filter changes with a subscribe frame.
    publishes.send({ type: 'subscribe', filter: { types: ['disconnect'], user: 'dev1' } });
    await publishes.next((f) => f.type === 'subscribed' && f.filter.user === 'dev1');
    dev.close();
    await waitFor(() => records(publishes).some((r) => r.type === 'disconnect'), 'dev1 leaving');
    for (const reader of [all, publishes]) reader.close();
  });

  it('refuses a non-admin with 4003 and a bad filter with an error, on WebSocket and SSE', async () => {
    await using server = await startProfile('proposals');
    const ws = server.url.replace('http', 'ws');
    const dev = await server.token({ sub: 'dev1' });
    const refused = new TestClient(`${ws}/ws/audit?token=${dev}`);
    assert.equal((await refused.closed).code, 4003);
    assert.equal(refused.frames[0].code, 'forbidden');
    const badFilter = new TestClient(`${ws}/ws/audit?token=${await server.token({ sub: 'admin1', roles: ['admin'] })}&types=everything`);
    assert.equal((await badFilter.closed).code, 4000);
    assert.equal(badFilter.frames[0].field, 'types.0');
    const sse = new SseTestClient(`${server.url}/api/v1/audit/events?token=${dev}`);
    assert.equal(await sse.opened, 403);
  });

  it('lists the feed among the endpoints it serves, in GET / and the start-up banner', async () => {
    await using server = await startProfile('proposals');
    assert.deepEqual((await server.get('/')).body.audit, { websocket: '/ws/audit', sse: '/api/v1/audit/events', adminRole: 'admin' });
    assert.match(server.stderr(), /Audit\s+ws:\/\/\S+\/ws\/audit\?token=<jwt>  \(role admin; SSE: http:\/\/\S+\/api\/v1\/audit\/events\)/);
  });
});
