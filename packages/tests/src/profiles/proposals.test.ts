import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClient } from '@herald/server/testing';
import { SseTestClient } from '@herald/server/testing';
import { PROFILE_WEBHOOK, startProfile } from '../support/profile-server.js';

const webhook = { authorization: `Bearer ${PROFILE_WEBHOOK}` };

describe('profile: proposals (seed 002)', () => {
  it('streams the app\'s own JSON on /ws/projects/{id}, closes 4001 without a valid token', async () => {
    await using server = await startProfile('proposals');
    const ws = server.url.replace('http', 'ws');
    const client = new TestClient(`${ws}/ws/projects/1?token=${await server.token({ sub: 'u1' })}`);
    await client.opened();
    await new Promise((r) => setTimeout(r, 100));
    await server.post('/api/v1/publish', { channel: 'project:1', event: 'token', data: { type: 'token', content: 'Hel' } }, webhook);
    await server.post('/api/v1/publish', { channel: 'project:1', event: 'token', data: { type: 'token', content: 'lo' } }, webhook);
    await client.next((f) => f.content === 'lo');
    assert.deepEqual(client.frames, [{ type: 'token', content: 'Hel' }, { type: 'token', content: 'lo' }]);
    client.close();

    for (const url of [`${ws}/ws/projects/1`, `${ws}/ws/projects/1?token=bad`]) {
      const refused = new TestClient(url);
      assert.equal((await refused.closed).code, 4001);
    }
  });

  it('keeps 5 connections per user (the oldest closed) and 50 per project (503)', async () => {
    await using server = await startProfile('proposals');
    const ws = server.url.replace('http', 'ws');
    const token = await server.token({ sub: 'u1' });
    const mine: TestClient[] = [];
    for (let i = 0; i < 5; i++) {
      const c = new TestClient(`${ws}/ws/projects/2?token=${token}`);
      await c.opened();
      mine.push(c);
      await new Promise((r) => setTimeout(r, 20));
    }
    const sixth = new TestClient(`${ws}/ws/projects/2?token=${token}`);
    await sixth.opened();
    assert.equal((await mine[0].closed).code, 4005);

    const others: TestClient[] = [];
    for (let i = 0; i < 45; i++) {
      const c = new TestClient(`${ws}/ws/projects/2?token=${await server.token({ sub: `o${i}` })}`);
      await c.opened();
      others.push(c);
    }
    await new Promise((r) => setTimeout(r, 100));
    const over = new TestClient(`${ws}/ws/projects/2?token=${await server.token({ sub: 'late' })}`);
    await assert.rejects(over.opened(), (err: { statusCode?: number }) => err.statusCode === 503);
    for (const c of [...mine, sixth, ...others]) c.close();
  });

  it('falls back to SSE and resumes it with Last-Event-ID', async () => {
    await using server = await startProfile('proposals');
    const token = await server.token({ sub: 'u1' });
    const url = `${server.url}/api/v1/proposals/42/events?token=${token}`;
    const first = new SseTestClient(url);
    assert.equal(await first.opened, 200);
    await server.post('/api/v1/publish', { channel: 'proposal:42', event: 'validation_start', data: { type: 'validation_start', proposal_id: 42 } }, webhook);
    await first.next((e) => e.event === 'validation_start');
    const cursor = first.lastEventId;
    first.close();
    await server.post('/api/v1/publish', { channel: 'proposal:42', event: 'output', data: { type: 'output', line: 'ok', stream: 'stdout' } }, webhook);
    await server.post('/api/v1/publish', { channel: 'proposal:42', event: 'validation_complete', data: { type: 'validation_complete', status: 'passed', summary: {} } }, webhook);
    const second = new SseTestClient(url, { 'last-event-id': cursor });
    await second.next((e) => e.event === 'validation_complete');
    assert.deepEqual(second.events.map((e) => e.event), ['herald:cursor', 'output', 'validation_complete']);
    assert.deepEqual(JSON.parse(second.events[1].data), { type: 'output', line: 'ok', stream: 'stdout' });
    second.close();
  });
});
