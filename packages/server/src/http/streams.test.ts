import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { io } from 'socket.io-client';
import type { LifecycleEvents } from '../core/events.js';
import type { HeraldConfigInput } from '../config/schema.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { SseTestClient, type SseEvent } from '../testing/sse-client.js';
import { openUpload } from '../testing/stream-upload-client.js';
import { waitFor } from '../testing/wait.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

type Claims = Parameters<HeraldFixture['token']>[0];

/** Seed 002's routes and channels, with cancel allowed to editors. */
const PROPOSALS = {
  routes: [
    { path: '/ws/projects/{project_id}', channel: 'project:{project_id}', format: 'data' as const },
    { path: '/api/v1/proposals/{id}/events', channel: 'proposal:{id}', format: 'data' as const },
  ],
  channels: {
    rules: [
      { pattern: 'project:*', history: { size: 500, ttl: '10m' }, cancel: { roles: ['editor'] } },
      { pattern: 'proposal:*', history: { size: 1000, ttl: '10m' }, cancel: { roles: ['editor'] } },
      { pattern: '*', publish: 'none', history: { size: 100, ttl: '5m' }, cancel: 'all' },
    ],
  },
  streams: { idleTimeout: 60_000 },
} satisfies HeraldConfigInput;

async function wsViewer(h: HeraldFixture, project: string, claims: Claims = { sub: 'dev1', roles: ['editor'] }): Promise<TestClient> {
  const client = new TestClient(`${h.wsUrl}/ws/projects/${project}?token=${await h.token(claims)}`);
  await client.opened();
  // The route's subscription is in place once the presence of the viewer is counted.
  await waitFor(async () => h.server.node.hub.localSubscribers('default', `project:${project}`) >= 1);
  return client;
}

async function sseViewer(h: HeraldFixture, proposal: string, claims: Claims = { sub: 'dev2', roles: ['editor'] }): Promise<SseTestClient> {
  const sse = new SseTestClient(`${h.url}/api/v1/proposals/${proposal}/events?token=${await h.token(claims)}`, { accept: 'text/event-stream' });
  assert.equal(await sse.opened, 200);
  await waitFor(async () => h.server.node.hub.localSubscribers('default', `proposal:${proposal}`) >= 1);
  return sse;
}

const dataFrames = (client: TestClient) => client.frames.filter((f) => typeof f === 'object' && f.type !== 'ping');
const sseMessages = (sse: SseTestClient) => sse.events.filter((e) => !e.event.startsWith('herald:') && e.event !== 'connected').map((e: SseEvent) => ({ event: e.event, data: JSON.parse(e.data) }));

async function openLlm(h: HeraldFixture, proposal = '7', project = '1') {
  const opened = await h.api('POST', '/api/v1/streams', {
    channels: [`proposal:${proposal}`, `project:${project}`],
    kind: 'tokens',
    start: { type: 'iteration_start', proposal_id: Number(proposal) },
    cancelled: { type: 'iteration_cancelled' },
  });
  assert.equal(opened.status, 200, JSON.stringify(opened.body));
  return opened.body.id as string;
}

describe('Streams over HTTP, WebSocket routes, SSE and Socket.IO', () => {
  it("delivers a validation stream in seed 002's message shapes, verbatim, to the project WebSocket and the proposal SSE stream", async () => {
    await using h = await startHerald(PROPOSALS);
    const ws = await wsViewer(h, '1');
    const sse = await sseViewer(h, '42');
    const { body: opened } = await h.api('POST', '/api/v1/streams', { channels: ['proposal:42', 'project:1'], kind: 'lines', start: { type: 'validation_start', proposal_id: 42 } });
    const chunks = [
      { type: 'output', line: 'checking schema', stream: 'stdout' },
      { type: 'output', line: 'warning: unused field', stream: 'stderr' },
    ];
    assert.deepEqual((await h.api('POST', `/api/v1/streams/${opened.id}/chunks`, { chunks })).status, 200);
    const done = await h.api('POST', `/api/v1/streams/${opened.id}/complete`, { type: 'validation_complete', status: 'passed', summary: { errors: 0, warnings: 1 } });
    assert.deepEqual(done, { status: 200, body: { state: 'completed' } });
    const expected = [
      { type: 'validation_start', proposal_id: 42 },
      { type: 'output', line: 'checking schema', stream: 'stdout' },
      { type: 'output', line: 'warning: unused field', stream: 'stderr' },
      { type: 'validation_complete', status: 'passed', summary: { errors: 0, warnings: 1 } },
    ];
    await ws.next((f) => f.type === 'validation_complete');
    assert.deepEqual(dataFrames(ws), expected);
    await sse.next((e) => e.event === 'validation_complete');
    assert.deepEqual(sseMessages(sse), expected.map((data) => ({ event: data.type, data })));
    // Once ended, a write is refused and the stream says how it ended.
    const late = await h.api('POST', `/api/v1/streams/${opened.id}/chunks`, { chunks: [{ type: 'output', line: 'late', stream: 'stdout' }] });
    assert.equal(late.status, 409);
    assert.deepEqual([late.body.error.code, late.body.state], ['stream_ended', 'completed']);
    // A validation that fails unexpectedly: {"type":"validation_error","error":...}.
    const error = await h.api('POST', '/api/v1/streams', { channels: ['proposal:42', 'project:1'], kind: 'lines', start: { type: 'validation_start', proposal_id: 42 } });
    assert.deepEqual(await h.api('POST', `/api/v1/streams/${error.body.id}/fail`, { type: 'validation_error', error: 'validator crashed' }), { status: 200, body: { state: 'failed' } });
    await ws.next((f) => f.type === 'validation_error');
    await sse.next((e) => e.event === 'validation_error');
    assert.deepEqual(dataFrames(ws).slice(4), [{ type: 'validation_start', proposal_id: 42 }, { type: 'validation_error', error: 'validator crashed' }]);
    assert.deepEqual(sseMessages(sse).slice(4).map((m) => m.data), [{ type: 'validation_start', proposal_id: 42 }, { type: 'validation_error', error: 'validator crashed' }]);
    ws.close();
    sse.close();
  });

  it('gives a viewer who joins mid-stream the text so far as one frame, then the live rest, exactly once', async () => {
    await using h = await startHerald(PROPOSALS);
    const id = await openLlm(h);
    const tokens = Array.from({ length: 300 }, (_, i) => `t${i} `);
    for (let i = 0; i < 150; i += 50) await h.api('POST', `/api/v1/streams/${id}/chunks`, { chunks: tokens.slice(i, i + 50).map((content) => ({ type: 'token', content })) });
    // Appends keep going while the viewers join: what they get must still be each token once, in order.
    const writing = (async () => {
      for (let i = 150; i < 300; i += 10) await h.api('POST', `/api/v1/streams/${id}/chunks`, { chunks: tokens.slice(i, i + 10).map((content) => ({ type: 'token', content })) });
    })();
    const ws = await wsViewer(h, '1');
    const sse = await sseViewer(h, '7');
    await writing;
    await h.api('POST', `/api/v1/streams/${id}/complete`, { type: 'iteration_complete', files_modified: ['a.md'], validation: { status: 'passed' } });
    await ws.next((f) => f.type === 'iteration_complete');
    await sse.next((e) => e.event === 'iteration_complete');
    for (const messages of [dataFrames(ws), sseMessages(sse).map((m) => m.data)]) {
      assert.deepEqual(messages[0], { type: 'iteration_start', proposal_id: 7 });
      const text = messages.filter((m) => m.type === 'token').map((m) => m.content).join('');
      assert.equal(text, tokens.join(''));
      // Coalesced: the snapshot is one frame, far fewer than the 150+ tokens written before the join.
      assert.ok(messages.length < 170, `${messages.length} frames`);
      assert.deepEqual(messages.at(-1), { type: 'iteration_complete', files_modified: ['a.md'], validation: { status: 'passed' } });
    }
    ws.close();
    sse.close();
  });

  it('cancels from the WebSocket route: every viewer gets iteration_cancelled, the open upload answers cancelled, the next append 409, the bus says cancelled', async () => {
    await using h = await startHerald(PROPOSALS);
    const events: LifecycleEvents['stream'][] = [];
    h.server.node.events.on('stream', (e) => events.push(e));
    const id = await openLlm(h);
    const watcher = await wsViewer(h, '1', { sub: 'viewer', roles: [] });
    const canceller = await wsViewer(h, '1');
    const sse = await sseViewer(h, '7');
    const upload = openUpload(`${h.url}/api/v1/streams/${id}/upload`, h.apiKey);
    upload.write(JSON.stringify({ type: 'token', content: 'Hel' }));
    upload.write(JSON.stringify({ type: 'token', content: 'lo' }));
    await watcher.next((f) => f.content === 'lo');
    // A viewer without the right is refused, and the stream goes on.
    watcher.send({ type: 'cancel' });
    const refused = await watcher.next((f) => f.type === 'error');
    assert.equal(refused.code, 'forbidden');
    upload.write(JSON.stringify({ type: 'token', content: '!' }));
    await watcher.next((f) => f.content === '!');
    const clicked = performance.now();
    canceller.send({ type: 'cancel' });
    const answer = await upload.response;
    console.log(`cancel click to upload answer: ${(answer.at - clicked).toFixed(1)} ms (seed 002 needs the LLM request cancelled within 100 ms)`);
    assert.deepEqual([answer.status, answer.body.status, answer.body.chunks], [200, 'cancelled', 3]);
    // Asserted generously (a shared machine under load); the figure against the seed's 100 ms is printed above.
    assert.ok(answer.at - clicked < 1000, `${answer.at - clicked} ms`);
    for (const client of [watcher, canceller]) await client.next((f) => f.type === 'iteration_cancelled');
    await sse.next((e) => e.event === 'iteration_cancelled');
    assert.deepEqual(dataFrames(watcher).map((f) => f.type), ['iteration_start', 'token', 'token', 'error', 'token', 'iteration_cancelled']);
    const late = await h.api('POST', `/api/v1/streams/${id}/chunks`, { chunks: [{ type: 'token', content: 'x' }] });
    assert.deepEqual([late.status, late.body.state], [409, 'cancelled']);
    const cancelled = events.find((e) => e.action === 'cancelled');
    assert.deepEqual([cancelled?.streamId, cancelled?.userId, cancelled?.channel], [id, 'dev1', 'proposal:7']);
    upload.end();
    for (const c of [watcher, canceller]) c.close();
    sse.close();
  });

  it('cancels for an SSE viewer through POST /api/v1/streams/cancel with its JWT, where the rule allows the user', async () => {
    await using h = await startHerald(PROPOSALS);
    const id = await openLlm(h, '8');
    const denials: LifecycleEvents['denial'][] = [];
    h.server.node.events.on('denial', (e) => denials.push(e));
    const sse = await sseViewer(h, '8');
    const cancel = async (claims: Claims, body: unknown) => {
      const response = await fetch(`${h.url}/api/v1/streams/cancel`, { method: 'POST', headers: { authorization: `Bearer ${await h.token(claims)}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as any };
    };
    const forged = await cancel({ sub: 'mallory', roles: ['viewer'] }, { channel: 'proposal:8' });
    assert.deepEqual([forged.status, forged.body.error.code], [403, 'forbidden']);
    assert.deepEqual(denials.map((d) => [d.reason, d.userId, d.channel]), [['cancel_forbidden', 'mallory', 'proposal:8']]);
    const otherTenant = await cancel({ sub: 'dev2', roles: ['editor'], tenant: 'other' }, { channel: 'proposal:8' });
    assert.deepEqual(otherTenant, { status: 200, body: { cancelled: [] } });
    assert.equal((await h.api('POST', `/api/v1/streams/${id}/chunks`, { chunks: [{ type: 'token', content: 'still open' }] })).status, 200);
    const noToken = await fetch(`${h.url}/api/v1/streams/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"channel":"proposal:8"}' });
    assert.equal(noToken.status, 401);
    const badToken = await fetch(`${h.url}/api/v1/streams/cancel?token=not-a-jwt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"channel":"proposal:8"}' });
    assert.deepEqual([badToken.status, ((await badToken.json()) as any).error.code], [401, 'unauthorized']);
    assert.deepEqual(await cancel({ sub: 'dev2', roles: ['editor'] }, { channel: 'proposal:8' }), { status: 200, body: { cancelled: [id] } });
    await sse.next((e) => e.event === 'iteration_cancelled');
    const again = await cancel({ sub: 'dev2', roles: ['editor'] }, { channel: 'proposal:8', streamId: id });
    assert.deepEqual([again.status, again.body.error.code, again.body.state], [409, 'stream_ended', 'cancelled']);
    sse.close();
  });

  it('streams to a Socket.IO viewer of a generic channel, snapshot first, and takes its cancel event', async () => {
    await using h = await startHerald(PROPOSALS);
    const { body: opened } = await h.api('POST', '/api/v1/streams', { channel: 'answers', kind: 'tokens' });
    await h.api('POST', `/api/v1/streams/${opened.id}/chunks`, { chunks: [{ type: 'token', content: 'one ' }, { type: 'token', content: 'two ' }] });
    const socket = io(h.url, { auth: { token: await h.token({ sub: 'sam' }) }, transports: ['websocket'] });
    const got: { event: string; data: any }[] = [];
    socket.onAny((event: string, data: unknown) => got.push({ event, data }));
    await new Promise((resolve) => socket.once('connected', resolve));
    await new Promise((resolve) => socket.emit('join-room', 'answers', resolve));
    await waitFor(() => got.some((g) => g.event === 'token'));
    await h.api('POST', `/api/v1/streams/${opened.id}/chunks`, { chunks: [{ type: 'token', content: 'three' }] });
    await waitFor(() => got.some((g) => g.data?.content === 'three'));
    const ack = await new Promise<any>((resolve) => socket.emit('cancel', { channel: 'answers' }, resolve));
    assert.deepEqual(ack, { cancelled: [opened.id] });
    await waitFor(() => got.some((g) => g.event === 'stream_cancelled'));
    assert.deepEqual(got.filter((g) => g.event !== 'connected').map((g) => g.data), [{ type: 'token', content: 'one two ' }, { type: 'token', content: 'three' }, { type: 'stream_cancelled' }]);
    const bad = await new Promise<any>((resolve) => {
      socket.once('error', resolve);
      socket.emit('cancel', { channel: 7 });
    });
    assert.equal(bad.code, 'bad_request');
    socket.close();
  });

  it('refuses bad input with a clear error and loses nothing else', async () => {
    await using h = await startHerald({ ...PROPOSALS, streams: { maxChunkBytes: 256, maxStreamBytes: 2048 } });
    const ws = await wsViewer(h, '1');
    const id = await openLlm(h, '9', '1');
    const post = (path: string, body: unknown) => h.api('POST', path, body);
    assert.equal((await post('/api/v1/streams/nope/chunks', { chunks: [{ type: 'token', content: 'x' }] })).status, 404);
    assert.equal((await post('/api/v1/streams/nope/complete', {})).status, 404);
    const longId = await post(`/api/v1/streams/${'x'.repeat(65)}/chunks`, { chunks: [{ type: 'token', content: 'x' }] });
    assert.deepEqual([longId.status, longId.body.error.field], [400, 'id']);
    assert.equal((await post('/api/v1/streams/a.b/upload', {})).status, 404);
    const noKey = await fetch(`${h.url}/api/v1/streams/${id}/chunks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"chunks":[]}' });
    assert.equal(noKey.status, 401);
    const checks: [unknown, number, string][] = [
      [{ chunks: [{ type: 'token', content: 'x'.repeat(300) }] }, 413, 'chunks.0'],
      [{ chunks: [{ type: 'token', content: 42 }] }, 400, 'chunks.0.content'],
      [{ chunks: ['just text'] }, 400, 'chunks.0'],
      [{ chunks: [] }, 400, 'chunks'],
      [{ chunk: [] }, 400, 'chunks'],
    ];
    for (const [body, status, field] of checks) {
      const response = await post(`/api/v1/streams/${id}/chunks`, body);
      assert.deepEqual([response.status, response.body.error.field], [status, field], JSON.stringify(response.body));
    }
    assert.equal((await post('/api/v1/streams', { channel: 'proposal:9', kind: 'words' })).status, 400);
    assert.equal((await post('/api/v1/streams', { channel: '$system', kind: 'tokens' })).status, 400);
    // The stream's length bound: refused whole, nothing of the refused append published.
    for (let i = 0; i < 10; i++) assert.equal((await post(`/api/v1/streams/${id}/chunks`, { chunks: [{ type: 'token', content: 'y'.repeat(200) }] })).status, 200);
    const long = await post(`/api/v1/streams/${id}/chunks`, { chunks: [{ type: 'token', content: 'z'.repeat(100) }] });
    assert.deepEqual([long.status, long.body.error.code], [413, 'limit_exceeded']);
    // An upload line past the chunk limit ends that upload with 413; an invalid line with 400.
    const tooLong = openUpload(`${h.url}/api/v1/streams/${id}/upload`, h.apiKey);
    tooLong.write('x'.repeat(1000));
    assert.equal((await tooLong.response).status, 413);
    const bad = openUpload(`${h.url}/api/v1/streams/${id}/upload`, h.apiKey);
    bad.write('{not json');
    const badAnswer = await bad.response;
    assert.deepEqual([badAnswer.status, badAnswer.body.error.field], [400, 'line.1']);
    // The stream still works, and the viewer saw every accepted token and nothing refused.
    await post(`/api/v1/streams/${id}/complete`, { type: 'iteration_complete', files_modified: [], validation: {} });
    await ws.next((f) => f.type === 'iteration_complete');
    const tokens = dataFrames(ws).filter((f) => f.type === 'token');
    assert.deepEqual([tokens.length, tokens.every((t) => t.content === 'y'.repeat(200))], [10, true]);
    ws.close();
  });

  it('pipes a text/plain upload in line by line and answers open when the body ends', async () => {
    await using h = await startHerald(PROPOSALS);
    const ws = await wsViewer(h, '1');
    const { body: opened } = await h.api('POST', '/api/v1/streams', { channel: 'project:1', kind: 'lines', start: { type: 'validation_start', proposal_id: 5 } });
    const upload = openUpload(`${h.url}/api/v1/streams/${opened.id}/upload?stream=stderr`, h.apiKey, 'text/plain');
    upload.write('first\r');
    upload.write('second');
    upload.end();
    assert.deepEqual((await upload.response).body, { status: 'open', chunks: 2 });
    await ws.next((f) => f.line === 'second');
    assert.deepEqual(dataFrames(ws).slice(1), [{ type: 'output', line: 'first', stream: 'stderr' }, { type: 'output', line: 'second', stream: 'stderr' }]);
    // A line past streams.maxChunkBytes ends the upload with 413 naming it, after the lines before it.
    const long = openUpload(`${h.url}/api/v1/streams/${opened.id}/upload`, h.apiKey, 'text/plain');
    long.write(`third\n${'x'.repeat(20_000)}`);
    const refused = await long.response;
    assert.deepEqual([refused.status, refused.body.error.field, refused.body.chunks], [413, 'line.2', 1]);
    await ws.next((f) => f.line === 'third');
    ws.close();
  });

  it('ends a stream whose backend vanished as failed after its idle timeout', async () => {
    await using h = await startHerald({ ...PROPOSALS, streams: { idleTimeout: 300 } });
    const ws = await wsViewer(h, '1');
    const { body: opened } = await h.api('POST', '/api/v1/streams', { channel: 'project:1', kind: 'lines', failed: { type: 'validation_error', error: '' } });
    await h.api('POST', `/api/v1/streams/${opened.id}/chunks`, { chunks: [{ type: 'output', line: 'working', stream: 'stdout' }] });
    const failed = await ws.next((f) => f.type === 'validation_error', 5000);
    assert.match(failed.error, /no write for 300 ms/);
    const late = await h.api('POST', `/api/v1/streams/${opened.id}/chunks`, { chunks: [{ type: 'output', line: 'back', stream: 'stdout' }] });
    assert.deepEqual([late.status, late.body.state], [409, 'failed']);
    ws.close();
  });

  it('keeps streams inside their tenant: a tenant-bound key neither opens in nor finds another tenant\'s', async () => {
    await using h = await startHerald({ ...PROPOSALS, api: { keys: [{ key: 'test-api-key-0123456789', name: 'test' }, { key: 'acme-key-0123456789', tenant: 'acme' }] } });
    const id = await openLlm(h);
    const acme = { authorization: 'Bearer acme-key-0123456789' };
    const other = await h.api('POST', '/api/v1/streams', { channel: 'answers', kind: 'tokens', tenant: 'default' }, acme);
    assert.deepEqual([other.status, other.body.error.code], [403, 'forbidden']);
    const write = await h.api('POST', `/api/v1/streams/${id}/chunks`, { chunks: [{ type: 'token', content: 'x' }] }, acme);
    assert.deepEqual([write.status, write.body.error.code], [404, 'not_found']);
    assert.equal((await h.api('POST', `/api/v1/streams/${id}/complete`, {}, acme)).status, 404);
    assert.equal((await h.api('POST', `/api/v1/streams/${id}/chunks`, { chunks: [{ type: 'token', content: 'x' }] })).status, 200);
  });

  it('resumes an SSE viewer with Last-Event-ID mid-stream: the missed chunks once, from history, then the live rest', async () => {
    await using h = await startHerald(PROPOSALS);
    const id = await openLlm(h, '11');
    const first = await sseViewer(h, '11');
    const post = (content: string) => h.api('POST', `/api/v1/streams/${id}/chunks`, { chunks: [{ type: 'token', content }] });
    await post('a');
    await first.next((e) => e.event === 'token');
    const cursor = first.lastEventId;
    first.close();
    await post('b');
    await post('c');
    const again = new SseTestClient(`${h.url}/api/v1/proposals/11/events?token=${await h.token({ sub: 'dev2', roles: ['editor'] })}`, { accept: 'text/event-stream', 'last-event-id': cursor });
    await again.next((e) => e.event === 'token' && JSON.parse(e.data).content === 'c');
    await post('d');
    await again.next((e) => e.event === 'token' && JSON.parse(e.data).content === 'd');
    assert.deepEqual(sseMessages(again).map((m) => m.data.content), ['b', 'c', 'd']);
    again.close();
  });

  it('answers an open upload 503 when the node shuts down, so the backend goes on elsewhere; the stream stays open', async () => {
    const h = await startHerald(PROPOSALS);
    const id = await openLlm(h, '12');
    const upload = openUpload(`${h.url}/api/v1/streams/${id}/upload`, h.apiKey);
    upload.write(JSON.stringify({ type: 'token', content: 'a' }));
    await waitFor(async () => (await h.server.node.streams.locate(undefined, id)).state === 'open');
    await new Promise((r) => setTimeout(r, 100));
    const closing = h.close();
    const answer = await upload.response;
    assert.deepEqual([answer.status, answer.body.error.code, answer.body.chunks], [503, 'unavailable', 1]);
    await closing;
  });

  it('takes a cancel request on the plain WebSocket endpoint, with its channel, answered with the ids', async () => {
    await using h = await startHerald(PROPOSALS);
    const { body: opened } = await h.api('POST', '/api/v1/streams', { channel: 'answers', kind: 'tokens' });
    const client = await connectClient(h.wsUrl, await h.token({ sub: 'sam' }));
    const noChannel = await client.request({ type: 'cancel' });
    assert.deepEqual([noChannel.error.code, noChannel.error.field], ['bad_request', 'channel']);
    const badId = await client.request({ type: 'cancel', channel: 'answers', streamId: 'no such id' });
    assert.equal(badId.error.code, 'not_found');
    assert.deepEqual((await client.request({ type: 'cancel', channel: 'answers' })).result, { cancelled: [opened.id] });
    assert.deepEqual((await client.request({ type: 'cancel', channel: 'answers' })).result, { cancelled: [] });
    client.close();
  });

  it('gives a resume that history cannot serve the stream so far instead: not_recovered, the snapshot, then live', async () => {
    const small = { ...PROPOSALS, channels: { rules: [{ pattern: 'proposal:*', history: { size: 5, ttl: '10m' } }] } } satisfies HeraldConfigInput;
    await using h = await startHerald(small);
    const id = await openLlm(h, '13', '13');
    const first = await sseViewer(h, '13');
    const post = (content: string) => h.api('POST', `/api/v1/streams/${id}/chunks`, { chunks: [{ type: 'token', content }] });
    await post('a ');
    await first.next((e) => e.event === 'token');
    const cursor = first.lastEventId;
    first.close();
    for (const word of ['b ', 'c ', 'd ', 'e ', 'f ', 'g ']) await post(word);
    const again = new SseTestClient(`${h.url}/api/v1/proposals/13/events?token=${await h.token({ sub: 'dev2' })}`, { accept: 'text/event-stream', 'last-event-id': cursor });
    await again.next((e) => e.event === 'token' && JSON.parse(e.data).content.endsWith('g '));
    await post('h');
    await again.next((e) => e.event === 'token' && JSON.parse(e.data).content === 'h');
    const events = again.events.filter((e) => !e.event.startsWith('herald:'));
    assert.equal(events[0].event, 'not_recovered');
    assert.deepEqual(events.slice(1).map((e) => JSON.parse(e.data)), [{ type: 'iteration_start', proposal_id: 13 }, { type: 'token', content: 'a b c d e f g ' }, { type: 'token', content: 'h' }]);
    again.close();
  });

  it('keeps a stream open while its upload is open, however silent, and fails it an idle timeout after the upload drops', async () => {
    await using h = await startHerald({ ...PROPOSALS, streams: { idleTimeout: 300 } });
    const ws = await wsViewer(h, '1');
    const { body: opened } = await h.api('POST', '/api/v1/streams', { channel: 'project:1', kind: 'tokens', failed: { type: 'iteration_failed', error: '' } });
    const upload = openUpload(`${h.url}/api/v1/streams/${opened.id}/upload`, h.apiKey);
    upload.write(JSON.stringify({ type: 'token', content: 'thinking' }));
    await ws.next((f) => f.content === 'thinking');
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await h.server.node.streams.locate(undefined, opened.id)).state, 'open');
    const dropped = performance.now();
    upload.abort();
    const failed = await ws.next((f) => f.type === 'iteration_failed', 5000);
    assert.match(failed.error, /no write for 300 ms/);
    // The open upload refreshed the stream every third of the timeout, the last one at most 100 ms before the drop.
    assert.ok(performance.now() - dropped >= 150, `failed ${performance.now() - dropped} ms after the drop`);
    ws.close();
  });
});
