import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { TestClient } from '@herald/server/testing';
import { SseTestClient } from '@herald/server/testing';
import { PROFILE_WEBHOOK, startProfile } from '../support/profile-server.js';
import { shell } from '../support/readme-commands.js';

/** The README's sh blocks that run examples/proposals/stream.mjs, and its cancel line. */
function streamCommands(): { validate: string; llm: string; cancel: string } {
  const text = readFileSync(new URL('../../../../examples/proposals/README.md', import.meta.url), 'utf8');
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].replace(/\\\n\s*/g, '').trim());
  const one = (test: (b: string) => boolean) => {
    const found = blocks.filter(test);
    assert.equal(found.length, 1, JSON.stringify(blocks));
    return found[0];
  };
  return { validate: one((b) => b.includes('stream.mjs validate')), llm: one((b) => b.includes('stream.mjs llm')), cancel: one((b) => b.includes('/api/v1/streams/cancel')) };
}

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

  it('runs the README\'s streams as written: a validation piped from a real process, an LLM stream a viewer cancels', async () => {
    await using server = await startProfile('proposals');
    const port = new URL(server.url).port;
    const asWritten = (line: string) => line.replaceAll('5009', port).replace('WEBHOOK_TOKEN=backend-secret', `WEBHOOK_TOKEN=${PROFILE_WEBHOOK}`);
    const commands = streamCommands();
    const token = await server.token({ sub: 'dev1', roles: ['editor'] });
    const ws = new TestClient(`${server.url.replace('http', 'ws')}/ws/projects/1?token=${token}`);
    await ws.opened();
    const sse = new SseTestClient(`${server.url}/api/v1/proposals/42/events?token=${token}`);
    assert.equal(await sse.opened, 200);
    await new Promise((r) => setTimeout(r, 200));

    const validate = shell(asWritten(commands.validate));
    assert.equal(await validate.exited, 0, validate.output());
    await ws.next((f) => f.type === 'validation_complete');
    const frames = ws.frames.filter((f) => f.type !== 'ping');
    assert.deepEqual(frames[0], { type: 'validation_start', proposal_id: 42 });
    assert.deepEqual(frames.filter((f) => f.type === 'output' && f.stream === 'stderr'), [{ type: 'output', line: 'warning: field "owner" is unused', stream: 'stderr' }]);
    assert.deepEqual(frames.filter((f) => f.type === 'output' && f.stream === 'stdout').map((f) => f.line), ['checking schema', 'checking references', '2 files checked']);
    assert.deepEqual(frames.at(-1), { type: 'validation_complete', status: 'passed', summary: { errors: 0, warnings: 1 } });

    const llm = shell(asWritten(commands.llm));
    await ws.next((f) => f.type === 'token');
    await sse.next((e) => e.event === 'token');
    const cancel = shell(`TOKEN=${token}; ${asWritten(commands.cancel)}`);
    assert.equal(await cancel.exited, 0);
    assert.match(cancel.output(), /"cancelled":\["[^"]+"\]/);
    assert.equal(await llm.exited, 0, llm.output());
    assert.match(llm.output(), /upload \{"status":"cancelled"/);
    assert.match(llm.output(), /cancelled: model process stopped/);
    await ws.next((f) => f.type === 'iteration_cancelled');
    await sse.next((e) => e.event === 'iteration_cancelled');
    ws.close();
    sse.close();
  });
});
