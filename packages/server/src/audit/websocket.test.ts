import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import type { HeraldConfigInput } from '../config/schema.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { refusedStatus } from '../testing/upgrade-status.js';
import { waitFor, within } from '../testing/wait.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

const AUDIT: HeraldConfigInput = { audit: { enabled: true, operatorTenant: 'ops' } };

/** An audit reader on /ws/audit, open and past its `subscribed` frame. */
async function reader(herald: HeraldFixture, claims: { sub: string; tenant: string; roles?: string[] }, query = ''): Promise<TestClient> {
  const token = await herald.token({ roles: ['admin'], ...claims });
  const client = new TestClient(`${herald.wsUrl}/ws/audit?token=${encodeURIComponent(token)}${query}`);
  await client.opened();
  await client.next((f) => f.type === 'subscribed');
  return client;
}

const records = (client: TestClient, type?: string) => client.frames.filter((f) => f.type === 'audit' && (type === undefined || f.record.type === type)).map((f) => f.record);

describe('/ws/audit', () => {
  it('streams connects, publishes, denials and disconnects of the node to an operator admin as they happen', async () => {
    await using herald = await startHerald(AUDIT);
    const admin = await reader(herald, { sub: 'root', tenant: 'ops' });
    assert.deepEqual(admin.frames[0], { type: 'subscribed', filter: {}, scope: null, position: admin.frames[0].position });
    const ann = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'acme' }));
    await ann.request({ type: 'publish', channel: 'order:1', event: 'order:paid', data: { total: 3 } });
    const refused = new TestClient(`${herald.wsUrl}/ws?token=forged`);
    await refused.closed;
    ann.close();
    await waitFor(() => records(admin, 'disconnect').length === 1, 'the disconnect record');
    // The reader itself is no connection: the only connect is ann's.
    const [connect, ...others] = records(admin, 'connect');
    assert.deepEqual(others, []);
    assert.deepEqual(
      { ...connect, at: 0, node: 0 },
      { type: 'connect', at: 0, node: 0, tenant: 'acme', userId: 'ann', transport: 'websocket', connectionId: ann.frames[0].connectionId },
    );
    assert.equal(connect.node, herald.server.node.cluster.nodeId);
    const [publish] = records(admin, 'publish');
    assert.deepEqual([publish.source, publish.tenant, publish.channels, publish.event, typeof publish.id], ['client', 'acme', ['order:1'], 'order:paid', 'string']);
    assert.deepEqual(records(admin, 'denial').map((d) => [d.reason, d.detail]), [['unauthorized', 'token invalid']]);
    // Records carry their feed position, in order.
    const offsets = admin.frames.filter((f) => f.type === 'audit').map((f) => f.offset);
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
    admin.close();
  });

  it('streams only what the URL filter matches: types, tenant, user and channel pattern', async () => {
    await using herald = await startHerald(AUDIT);
    const byType = await reader(herald, { sub: 'root', tenant: 'ops' }, '&types=publish');
    const byTenantUser = await reader(herald, { sub: 'root', tenant: 'ops' }, '&tenant=acme&user=bob');
    const byChannel = await reader(herald, { sub: 'root', tenant: 'ops' }, '&channel=order:*');
    for (const [tenant, sub, channel] of [['acme', 'ann', 'order:1'], ['acme', 'bob', 'news'], ['globex', 'bob', 'order:2']]) {
      const c = await connectClient(herald.wsUrl, await herald.token({ sub, tenant }));
      await c.request({ type: 'publish', channel, event: 'e', data: 1 });
      c.close();
      await c.closed;
    }
    await waitFor(() => records(byTenantUser, 'disconnect').length === 1, 'bob of acme leaving');
    await waitFor(() => records(byChannel).length === 2, 'the order channels');
    assert.deepEqual(records(byType).map((r) => [r.type, r.tenant, r.channels]), [['publish', 'acme', ['order:1']], ['publish', 'acme', ['news']], ['publish', 'globex', ['order:2']]]);
    // A client's publish record names its publisher, so the user filter keeps it; the payload stays out.
    assert.deepEqual(records(byTenantUser).map((r) => [r.type, r.tenant, r.userId]), [['connect', 'acme', 'bob'], ['publish', 'acme', 'bob'], ['disconnect', 'acme', 'bob']]);
    assert.ok(records(byType).every((r) => !('data' in r) && !('publisher' in r)));
    assert.deepEqual(records(byChannel).map((r) => r.channels), [['order:1'], ['order:2']]);
    for (const c of [byType, byTenantUser, byChannel]) c.close();
  });

  it('shows a tenant admin only its own tenant, and refuses a filter on another tenant with 4003', async () => {
    await using herald = await startHerald(AUDIT);
    const acmeAdmin = await reader(herald, { sub: 'boss', tenant: 'acme' });
    assert.equal(acmeAdmin.frames[0].scope, 'acme');
    for (const tenant of ['globex', 'acme']) {
      const c = await connectClient(herald.wsUrl, await herald.token({ sub: 'u', tenant }));
      c.close();
      await c.closed;
    }
    await new TestClient(`${herald.wsUrl}/ws?token=forged`).closed;
    await waitFor(() => records(acmeAdmin, 'disconnect').length === 1, 'the disconnect of acme');
    assert.deepEqual([...new Set(records(acmeAdmin).map((r) => r.tenant))], ['acme']);
    assert.equal(records(acmeAdmin, 'denial').length, 0, 'a refusal before any tenant is for the operator only');

    const other = new TestClient(`${herald.wsUrl}/ws/audit?token=${await herald.token({ sub: 'boss', tenant: 'acme', roles: ['admin'] })}&tenant=globex`);
    assert.equal((await other.closed).code, CloseCode.Forbidden);
    assert.deepEqual(other.frames, [{ type: 'error', code: 'forbidden', message: 'an admin of tenant acme sees only that tenant' }]);
    acmeAdmin.send({ type: 'subscribe', filter: { tenant: 'globex' } });
    assert.equal((await acmeAdmin.next((f) => f.type === 'error')).code, 'forbidden');
    acmeAdmin.close();
  });

  it('refuses a non-admin with 4003, a bad token with 4001 and a bad filter with 4000, each saying why', async () => {
    await using herald = await startHerald(AUDIT);
    const admin = await herald.token({ sub: 'root', tenant: 'ops', roles: ['admin'] });
    const cases: [string, number, Record<string, unknown>][] = [
      [`?token=${await herald.token({ sub: 'ann', tenant: 'ops', roles: ['agent'] })}`, CloseCode.Forbidden, { code: 'forbidden', message: 'the audit feed is for the admin role' }],
      ['?token=forged', CloseCode.Unauthorized, { code: 'unauthorized', message: 'token invalid' }],
      ['', CloseCode.Unauthorized, { code: 'unauthorized', message: 'no token' }],
      [`?token=${admin}&types=connect,teleport`, CloseCode.BadRequest, { code: 'bad_request', field: 'types.1' }],
      [`?token=${admin}&types=connect,connect`, CloseCode.BadRequest, { code: 'bad_request', field: 'types' }],
      [`?token=${admin}&tenant=a:b`, CloseCode.BadRequest, { code: 'bad_request', field: 'tenant' }],
      [`?token=${admin}&type=connect`, CloseCode.BadRequest, { code: 'bad_request', field: 'type' }],
      [`?token=${admin}&user=a&user=b`, CloseCode.BadRequest, { code: 'bad_request', field: 'user' }],
      [`?token=${admin}&offset=3`, CloseCode.BadRequest, { code: 'bad_request', field: 'epoch' }],
    ];
    for (const [query, code, error] of cases) {
      const client = new TestClient(`${herald.wsUrl}/ws/audit${query}`);
      const closed = await within(client.closed);
      assert.equal(closed.code, code, query);
      const [frame] = client.frames;
      assert.equal(frame.type, 'error', query);
      for (const [k, v] of Object.entries(error)) assert.equal(frame[k], v, `${query}: ${k} of ${JSON.stringify(frame)}`);
      assert.ok(frame.message.length > 0);
    }
    const denials = (await herald.api('GET', '/metrics')).body as string;
    assert.match(denials, /herald_denials_total\{reason="subscribe_forbidden"\} 1/);
  });

  it('answers bad frames with an error frame and keeps the stream; a subscribe frame restarts it with a new filter', async () => {
    await using herald = await startHerald(AUDIT);
    const admin = await reader(herald, { sub: 'root', tenant: 'ops' });
    admin.send('not json');
    admin.send({ type: 'publish', channel: 'x' });
    admin.send({ type: 'subscribe', filter: { types: ['nope'] } });
    admin.send({ type: 'subscribe', filter: { colour: 'red' } });
    await waitFor(() => admin.frames.filter((f) => f.type === 'error').length === 4, 'four errors');
    assert.deepEqual(
      admin.frames.filter((f) => f.type === 'error').map((f) => [f.code, f.field]),
      [['bad_request', undefined], ['unknown_frame', 'type'], ['bad_request', 'filter.types.0'], ['bad_request', 'filter']],
    );
    admin.send({ type: 'subscribe', filter: { types: ['disconnect'] } });
    await admin.next((f) => f.type === 'subscribed' && f.filter.types?.[0] === 'disconnect');
    const before = admin.frames.length;
    const c = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'acme' }));
    c.close();
    await waitFor(() => admin.frames.slice(before).some((f) => f.type === 'audit'), 'the disconnect');
    assert.deepEqual(admin.frames.slice(before).map((f) => f.record?.type), ['disconnect']);
    admin.close();
  });

  it('gives a late joiner the last records kept, and a reader coming back with ?epoch=&offset= only what it missed', async () => {
    await using herald = await startHerald({ audit: { enabled: true, operatorTenant: 'ops', history: { size: 5 } } });
    const first = await reader(herald, { sub: 'root', tenant: 'ops' }, '&types=publish');
    for (let i = 1; i <= 8; i++) await herald.api('POST', '/api/v1/publish', { channel: 'news', event: `e${i}`, data: i });
    await waitFor(() => records(first).length === 8, 'eight publishes');
    const last = first.frames.filter((f) => f.type === 'audit').at(-3);
    first.close();

    const late = await reader(herald, { sub: 'root', tenant: 'ops' }, '&types=publish');
    await waitFor(() => records(late).length >= 5, 'the kept records');
    assert.deepEqual(records(late).map((r) => r.event), ['e4', 'e5', 'e6', 'e7', 'e8']);
    late.close();

    const back = await reader(herald, { sub: 'root', tenant: 'ops' }, `&types=publish&epoch=${last.epoch}&offset=${last.offset}`);
    assert.deepEqual(back.frames[0].recovery, { recovered: true, replayed: 2 });
    await waitFor(() => records(back).length === 2, 'what it missed');
    assert.deepEqual(records(back).map((r) => r.event), ['e7', 'e8']);
    // A subscribe frame with `since` does the same on an open reader.
    back.send({ type: 'subscribe', filter: { types: ['publish'] }, since: { epoch: last.epoch, offset: last.offset } });
    const again = await back.next((f) => f.type === 'subscribed' && f !== back.frames[0]);
    assert.deepEqual(again.recovery, { recovered: true, replayed: 2 });
    await waitFor(() => records(back).length === 4, 'the replay again');
    assert.deepEqual(records(back).map((r) => r.event), ['e7', 'e8', 'e7', 'e8']);
    back.close();
  });

  it('keeps the audit channel out of reach of clients and of the HTTP API', async () => {
    await using herald = await startHerald(AUDIT);
    const c = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'acme', roles: ['admin'] }));
    const reply = await c.request({ type: 'subscribe', channel: '$audit' });
    assert.equal(reply.error.code, 'invalid_channel');
    assert.equal((await herald.api('GET', '/api/v1/channels/%24audit/history?tenant=%24herald')).status, 400);
    assert.equal((await herald.api('POST', '/api/v1/publish', { tenant: '$herald', channel: 'x', event: 'e', data: 1 })).status, 400);
    c.close();
  });

  it('is not served unless enabled', async () => {
    await using herald = await startHerald();
    assert.equal(await refusedStatus(`${herald.wsUrl}/ws/audit?token=${await herald.token({ sub: 'root', roles: ['admin'] })}`), 404);
  });
});
