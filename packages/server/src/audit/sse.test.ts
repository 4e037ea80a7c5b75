import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeraldConfigInput } from '../config/schema.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { SseTestClient } from '../testing/sse-client.js';
import { waitFor } from '../testing/wait.js';
import { connectClient } from '../testing/ws-client.js';

const AUDIT: HeraldConfigInput = { audit: { enabled: true, operatorTenant: 'ops' } };

const adminToken = (herald: HeraldFixture, tenant = 'ops') => herald.token({ sub: 'root', tenant, roles: ['admin'] });
const records = (client: SseTestClient) => client.events.filter((e) => e.event === 'audit').map((e) => JSON.parse(e.data));

async function connectAndLeave(herald: HeraldFixture, sub: string, tenant: string): Promise<void> {
  const c = await connectClient(herald.wsUrl, await herald.token({ sub, tenant }));
  c.close();
  await c.closed;
}

describe('GET /api/v1/audit/events', () => {
  it('streams the records as `audit` events, each with its feed position as id, after a `subscribed` event', async () => {
    await using herald = await startHerald(AUDIT);
    const stream = new SseTestClient(`${herald.url}/api/v1/audit/events?types=connect,disconnect&user=ann`, { authorization: `Bearer ${await adminToken(herald)}` });
    assert.equal(await stream.opened, 200);
    const subscribed = await stream.next((e) => e.event === 'subscribed');
    assert.deepEqual(JSON.parse(subscribed.data).filter, { types: ['connect', 'disconnect'], user: 'ann' });
    await connectAndLeave(herald, 'bob', 'acme');
    await connectAndLeave(herald, 'ann', 'acme');
    await waitFor(() => records(stream).length === 2, 'ann connecting and leaving');
    assert.deepEqual(records(stream).map((r) => [r.record.type, r.record.userId]), [['connect', 'ann'], ['disconnect', 'ann']]);
    const last = stream.events.filter((e) => e.event === 'audit').at(-1)!;
    assert.equal(last.id, `${records(stream)[1].epoch}:${records(stream)[1].offset}`);
    stream.close();
  });

  it('resumes after Last-Event-ID with only what was missed', async () => {
    await using herald = await startHerald(AUDIT);
    const url = `${herald.url}/api/v1/audit/events?types=connect&token=${await adminToken(herald)}`;
    const first = new SseTestClient(url);
    await connectAndLeave(herald, 'ann', 'acme');
    await waitFor(() => records(first).length === 1, 'ann');
    const cursor = first.lastEventId;
    first.close();
    await connectAndLeave(herald, 'bob', 'acme');
    await connectAndLeave(herald, 'cid', 'acme');
    const second = new SseTestClient(url, { 'last-event-id': cursor });
    await waitFor(() => records(second).length === 2, 'bob and cid');
    assert.deepEqual(JSON.parse(second.events[0].data).recovery, { recovered: true, replayed: 2 });
    assert.deepEqual(records(second).map((r) => r.record.userId), ['bob', 'cid']);
    second.close();

    // The position may come as ?lastEventId= too, for clients that cannot set the header.
    const forged = new SseTestClient(`${url}&lastEventId=not-a-position`);
    const notice = await forged.next((e) => e.event === 'not_recovered');
    assert.equal(JSON.parse(notice.data).reason, 'invalid_cursor');
    await waitFor(() => records(forged).length === 3, 'every kept connect');
    forged.close();
  });

  it('answers 401, 403 and 400 before any stream, in the API error shape', async () => {
    await using herald = await startHerald(AUDIT);
    const nonAdmin = await herald.token({ sub: 'ann', tenant: 'ops', roles: ['agent'] });
    const cases: [string, number, string, string | undefined][] = [
      ['', 401, 'unauthorized', undefined],
      [`?token=${nonAdmin}`, 403, 'forbidden', undefined],
      [`?token=${await adminToken(herald, 'acme')}&tenant=globex`, 403, 'forbidden', undefined],
      [`?token=${await adminToken(herald)}&types=`, 400, 'bad_request', 'types.0'],
      [`?token=${await adminToken(herald)}&since=4`, 400, 'bad_request', 'since'],
    ];
    for (const [query, status, code, field] of cases) {
      const response = await fetch(`${herald.url}/api/v1/audit/events${query}`, { headers: { accept: 'text/event-stream' } });
      assert.equal(response.status, status, query);
      const body = (await response.json()) as { error: { code: string; message: string; field?: string } };
      assert.equal(body.error.code, code, query);
      assert.equal(body.error.field, field, query);
      assert.ok(body.error.message.length > 0);
    }
  });

  it('is in the OpenAPI document when enabled', async () => {
    await using herald = await startHerald(AUDIT);
    const doc = (await herald.api('GET', '/api/openapi.json')).body;
    assert.equal(doc.paths['/api/v1/audit/events'].get.operationId, 'auditEvents');
  });
});
