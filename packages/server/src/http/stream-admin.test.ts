import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LifecycleEvents } from '../core/events.js';
import { startHerald } from '../testing/herald-fixture.js';
import { openUpload } from '../testing/stream-upload-client.js';
import { waitFor } from '../testing/wait.js';
import { TestClient } from '../testing/ws-client.js';

const TENANT_KEY = 'tenant-key-acme-0123456789';
const CONFIG = {
  api: { keys: [{ key: 'operator-key-0123456789', name: 'ops' }, { key: TENANT_KEY, name: 'acme-backend', tenant: 'acme' }] },
  routes: [{ path: '/ws/projects/{project_id}', channel: 'project:{project_id}', format: 'data' as const }],
  // No viewer may cancel: only an admin can.
  channels: { rules: [{ pattern: '*', history: { size: 100, ttl: '5m' }, cancel: 'none' as const }] },
  streams: { idleTimeout: 60_000 },
};

const call = async (url: string, method: 'GET' | 'POST', key: string, body?: unknown) => {
  const response = await fetch(url, { method, headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: response.status, body: (await response.json()) as any };
};

describe('Streams for admins: GET /api/v1/streams and POST /api/v1/streams/{id}/cancel', () => {
  it('lists open streams with channels, kind, bytes and viewers, and only the caller tenant’s for a tenant key', async () => {
    await using h = await startHerald(CONFIG);
    const ops = (method: 'GET' | 'POST', path: string, body?: unknown) => call(`${h.url}${path}`, method, 'operator-key-0123456789', body);
    const acme = (method: 'GET' | 'POST', path: string, body?: unknown) => call(`${h.url}${path}`, method, TENANT_KEY, body);
    const viewer = new TestClient(`${h.wsUrl}/ws/projects/1?token=${await h.token({ sub: 'vic', tenant: 'acme' })}`);
    await viewer.opened();
    await waitFor(() => h.server.node.hub.localSubscribers('acme', 'project:1') === 1);
    const opened = await acme('POST', '/api/v1/streams', { channels: ['project:1', 'project:2'], kind: 'tokens', start: { type: 'start' } });
    const other = await ops('POST', '/api/v1/streams', { channel: 'log', kind: 'lines' });
    assert.equal(opened.status, 200);
    await acme('POST', `/api/v1/streams/${opened.body.id}/chunks`, { chunks: [{ type: 'token', content: 'Héllo' }] });

    const all = await ops('GET', '/api/v1/streams');
    assert.equal(all.status, 200);
    assert.deepEqual([all.body.nodes, all.body.answered, all.body.truncated], [1, 1, false]);
    assert.deepEqual(all.body.streams.map((s: { id: string }) => s.id), [opened.body.id, other.body.id]);
    const [row] = all.body.streams;
    assert.deepEqual(
      [row.tenant, row.channels, row.kind, row.state, row.bytes, row.viewers, row.node],
      ['acme', ['project:1', 'project:2'], 'tokens', 'open', Buffer.byteLength('Héllo'), 1, h.server.node.cluster.nodeId],
    );
    assert.ok(Math.abs(row.openedAt - Date.now()) < 60_000);

    const own = await acme('GET', '/api/v1/streams');
    assert.deepEqual(own.body.streams.map((s: { id: string }) => s.id), [opened.body.id]);
    assert.equal((await acme('GET', '/api/v1/streams?tenant=default')).status, 403);
    assert.equal((await ops('GET', '/api/v1/streams?tenant=acme')).body.streams.length, 1);
    const bad = await ops('GET', '/api/v1/streams?tenant=Not%20a%20tenant');
    assert.equal(bad.status, 400);
    assert.equal((await ops('GET', '/api/v1/streams?tenants=x')).status, 400);
    assert.equal((await fetch(`${h.url}/api/v1/streams`)).status, 401);

    // Completed: no longer listed.
    await ops('POST', `/api/v1/streams/${other.body.id}/complete`);
    assert.deepEqual((await ops('GET', '/api/v1/streams')).body.streams.map((s: { id: string }) => s.id), [opened.body.id]);
    viewer.close();
  });

  it('cancels as an admin whatever the channel rule: viewers get the cancelled message, the upload answers cancelled, the bus names the admin', async () => {
    await using h = await startHerald(CONFIG);
    const events: LifecycleEvents['stream'][] = [];
    h.server.node.events.on('stream', (e) => events.push(e));
    const viewer = new TestClient(`${h.wsUrl}/ws/projects/1?token=${await h.token({ sub: 'vic', tenant: 'acme' })}`);
    await viewer.opened();
    await waitFor(() => h.server.node.hub.localSubscribers('acme', 'project:1') === 1);
    const opened = await call(`${h.url}/api/v1/streams`, 'POST', TENANT_KEY, { channel: 'project:1', kind: 'tokens', cancelled: { type: 'iteration_cancelled' } });
    const id = opened.body.id as string;
    const upload = openUpload(`${h.url}/api/v1/streams/${id}/upload`, TENANT_KEY);
    upload.write(JSON.stringify({ type: 'token', content: 'a' }));
    await viewer.next((f) => f.content === 'a');

    // Another tenant's key does not find it; a bad id is a 404 too.
    const outsider = await call(`${h.url}/api/v1/streams`, 'POST', 'operator-key-0123456789', { tenant: 'globex', channel: 'x', kind: 'tokens' });
    assert.equal(outsider.status, 200);
    assert.equal((await call(`${h.url}/api/v1/streams/${outsider.body.id}/cancel`, 'POST', TENANT_KEY)).status, 404);
    assert.equal((await call(`${h.url}/api/v1/streams/no*such/cancel`, 'POST', TENANT_KEY)).status, 404);

    const cancelled = await call(`${h.url}/api/v1/streams/${id}/cancel`, 'POST', TENANT_KEY);
    assert.deepEqual(cancelled, { status: 200, body: { state: 'cancelled' } });
    await viewer.next((f) => f.type === 'iteration_cancelled');
    const answer = await upload.response;
    assert.deepEqual([answer.status, answer.body.status], [200, 'cancelled']);
    const event = events.find((e) => e.action === 'cancelled');
    assert.deepEqual([event?.streamId, event?.userId, event?.tenant, event?.reason], [id, 'acme-backend', 'acme', 'cancelled by acme-backend']);
    const again = await call(`${h.url}/api/v1/streams/${id}/cancel`, 'POST', TENANT_KEY);
    assert.deepEqual([again.status, again.body.error.code, again.body.state], [409, 'stream_ended', 'cancelled']);
    assert.deepEqual((await call(`${h.url}/api/v1/streams`, 'GET', TENANT_KEY)).body.streams, []);
    upload.end();
    viewer.close();
  });
});
