import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createHeraldClient, httpDelivery, memoryStorage, type DataRoute, type RouteClient } from '@herald/client';
import { startHerald } from '@herald/server/testing';
import { WebSocket } from 'ws';
import { fastBackoff } from '../support/herald-client.js';
import { PROFILE_WEBHOOK, startProfile, type ProfileServer } from '../support/profile-server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

/** examples/homeplanner's route, described once for the client. */
const HOMEPLANNER: DataRoute = { resume: { frame: 'HELLO', field: 'revision' }, heartbeat: { interval: 30_000, missedPings: 2 } };

async function publishTask(server: ProfileServer, revision: number) {
  const data = { event_type: 'TASK_UPDATED', entity_id: 'task-17', revision, payload: { title: `rev ${revision}` } };
  const r = await server.post('/api/v1/publish', { tenant: 'h1', channel: 'tasks', event: 'TASK_UPDATED', data }, { authorization: `Bearer ${PROFILE_WEBHOOK}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

function record(client: RouteClient<any>): Record<string, any>[] {
  const messages: Record<string, any>[] = [];
  client.on('message', (m) => messages.push(m));
  return messages;
}

/** A real HTTP server for the app's own API: answers each request with `answer(request number, body)`. */
async function startAppApi(answer: (n: number, body: any, req: IncomingMessage) => { status: number; body?: unknown }) {
  const requests: { method: string; url: string; key: string | undefined; body: any }[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const body = JSON.parse(text);
      requests.push({ method: req.method!, url: req.url!, key: req.headers['idempotency-key'] as string | undefined, body });
      const reply = answer(requests.length, body, req);
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close, [Symbol.asyncDispose]: close };
}

describe('RouteClient (a data route: examples/homeplanner)', () => {
  it('sends HELLO with the stored revision, keeps the largest revision as its cursor, and resumes from it after a drop', async () => {
    await using server = await startProfile('homeplanner');
    await using proxy = await startTcpProxy(server.url);
    for (const rev of [1, 2, 3]) await publishTask(server, rev);
    const storage = memoryStorage();
    const token = await server.token({ sub: 'anna', household: 'h1' });
    const first = createHeraldClient({ url: `${proxy.wsUrl}/api/v0.2/tasks/stream`, token, route: HOMEPLANNER, WebSocket, storage, backoff: fastBackoff });
    const seen = record(first);
    await waitFor(() => seen.length === 3, 'revisions 1-3');
    assert.equal(first.cursor, 3);
    proxy.cut();
    await waitFor(() => first.state.status !== 'connected', 'the drop to be noticed');
    proxy.refuse();
    await publishTask(server, 4);
    proxy.accept();
    await waitFor(() => seen.length === 4, 'revision 4 after the reconnect');
    assert.deepEqual(seen.map((m) => m.revision), [1, 2, 3, 4], 'nothing twice');
    first.close();

    // A new page with the same storage starts after revision 4.
    await publishTask(server, 5);
    const second = createHeraldClient({ url: `${proxy.wsUrl}/api/v0.2/tasks/stream`, token, route: HOMEPLANNER, WebSocket, storage });
    const later = record(second);
    await waitFor(() => later.length === 1, 'revision 5');
    assert.equal(later[0].revision, 5);
    second.close();
  });

  it('takes a task lock that the other members see as LOCK_REFRESHED, released when the holder leaves', async () => {
    await using server = await startProfile('homeplanner');
    await publishTask(server, 8);
    const url = `${server.url.replace('http', 'ws')}/api/v0.2/tasks/stream`;
    const open = async (sub: string) => createHeraldClient({ url, token: await server.token({ sub, household: 'h1' }), route: HOMEPLANNER, WebSocket, storage: memoryStorage() });
    const anna = await open('anna');
    const boris = await open('boris');
    const seen = record(boris);
    await waitFor(() => anna.state.status === 'connected' && seen.length === 1, 'both connected');
    assert.equal((await anna.lock('tasks', 'task-17')).acquired, true);
    await waitFor(() => seen.some((m) => m.event_type === 'LOCK_REFRESHED'), 'the lock on the stream');
    const taken = seen.find((m) => m.event_type === 'LOCK_REFRESHED')!;
    assert.deepEqual({ ...taken, payload: { ...taken.payload, expires_at: typeof taken.payload.expires_at } }, {
      event_type: 'LOCK_REFRESHED',
      entity_id: 'task-17',
      revision: 8,
      payload: { state: 'acquired', user_id: 'anna', expires_at: 'string' },
    });
    assert.match(taken.payload.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.equal((await boris.lock('tasks', 'task-17')).acquired, false);
    assert.equal(boris.cursor, 8, 'a lock message leaves the cursor where it was');
    anna.close();
    await waitFor(() => seen.some((m) => m.payload?.state === 'released'), 'the release');
    assert.deepEqual(seen.at(-1), { event_type: 'LOCK_REFRESHED', entity_id: 'task-17', revision: 8, payload: { state: 'released', user_id: 'anna', reason: 'disconnected' } });
    boris.close();
  });

  it("drops a link after the route's missed pings and comes back", async () => {
    await using herald = await startHerald({
      heartbeat: { interval: 150, timeout: 100 },
      routes: [{ path: '/stream', channel: 'tasks', format: 'data', appPing: true, missedPings: 2, resume: { frame: 'HELLO', field: 'revision' } }],
    });
    await using proxy = await startTcpProxy(herald.url);
    const client = createHeraldClient({
      url: `${proxy.wsUrl}/stream`,
      token: await herald.token({ sub: 'anna' }),
      route: { resume: { frame: 'HELLO', field: 'revision' }, heartbeat: { interval: 150, missedPings: 2 } },
      WebSocket,
      storage: memoryStorage(),
      backoff: fastBackoff,
    });
    const ends: string[] = [];
    client.on('status', (s) => s.status === 'reconnecting' && s.reason && ends.push(s.reason));
    await waitFor(() => client.state.status === 'connected', 'connected');
    const stalledAt = Date.now();
    proxy.stall();
    await waitFor(() => ends.length > 0, 'the silent link to be dropped', 3000);
    const silentFor = Date.now() - stalledAt;
    assert.match(ends[0], /no ping from the server/);
    assert.ok(silentFor >= 2 * 150, `dropped after ${silentFor} ms: two intervals at least`);
    await waitFor(() => client.state.status === 'connected', 'back', 3000);
    client.close();
  });
});

describe('httpDelivery (the outbox to the app API)', () => {
  const retrySchedule = [20, 60, 180, 540];

  it('retries failures on the schedule, hands a 409 to the app to merge, and sends the merge', async () => {
    await using api = await startAppApi((n, body) => {
      if (n <= 2) return { status: 503 };
      if (n === 3) return { status: 409, body: { id: 'task-17', title: 'Купить хлеб', done: true, revision: 42 } };
      return { status: 200, body: { revision: body.revision + 1 } };
    });
    await using server = await startProfile('homeplanner');
    const merged: unknown[] = [];
    const client = createHeraldClient({
      url: `${server.url.replace('http', 'ws')}/api/v0.2/tasks/stream`,
      token: await server.token({ sub: 'anna', household: 'h1' }),
      route: HOMEPLANNER,
      WebSocket,
      storage: memoryStorage(),
      outbox: {
        retrySchedule,
        deliver: httpDelivery({
          baseUrl: `${api.url}/api/v0.2`,
          headers: { authorization: 'Bearer app-token' },
          onConflict: (item, current: any) => {
            merged.push(current);
            return { ...(item.data as object), done: current.done, revision: current.revision };
          },
        }),
      },
    });
    const failures: number[] = [];
    client.on('outbox:failed', (f) => failures.push(f.retryIn));
    const result = await client.outbox.enqueue('/tasks/task-17', 'PUT', { id: 'task-17', title: 'Купить молоко', revision: 41 });
    assert.deepEqual(result, { status: 200, body: { revision: 43 } });
    assert.deepEqual(failures, [20, 60]);
    assert.equal(merged.length, 1);
    assert.deepEqual(api.requests.map((r) => [r.method, r.url, r.body.revision]), [
      ['PUT', '/api/v0.2/tasks/task-17', 41],
      ['PUT', '/api/v0.2/tasks/task-17', 41],
      ['PUT', '/api/v0.2/tasks/task-17', 41],
      ['PUT', '/api/v0.2/tasks/task-17', 42],
    ]);
    assert.equal(new Set(api.requests.map((r) => r.key)).size, 1, 'one Idempotency-Key for every attempt');
    assert.deepEqual(api.requests.at(-1)!.body, { id: 'task-17', title: 'Купить молоко', done: true, revision: 42 });
    client.close();
  });

  it('keeps FIFO order behind a failing item and tells the app after 5 failures', async () => {
    let down = true;
    await using api = await startAppApi(() => (down ? { status: 500 } : { status: 204 }));
    await using server = await startProfile('homeplanner');
    const client = createHeraldClient({
      url: `${server.url.replace('http', 'ws')}/api/v0.2/tasks/stream`,
      token: await server.token({ sub: 'anna', household: 'h1' }),
      route: HOMEPLANNER,
      WebSocket,
      storage: memoryStorage(),
      outbox: { retrySchedule: [10, 10, 10, 10], retryEvery: 10, capacity: 100, deliver: httpDelivery({ baseUrl: api.url }) },
    });
    const stalled: number[] = [];
    client.on('outbox:stalled', (s) => stalled.push(s.failures));
    const done = [1, 2, 3].map((n) => client.outbox.enqueue(`/tasks/${n}`, 'PUT', { n }));
    await waitFor(() => stalled.length === 1, 'the stall after 5 failures');
    assert.deepEqual(stalled, [5]);
    assert.ok(api.requests.every((r) => r.url === '/tasks/1'), 'later items wait behind the first');
    down = false;
    await Promise.all(done);
    assert.deepEqual(api.requests.slice(-3).map((r) => r.url), ['/tasks/1', '/tasks/2', '/tasks/3']);
    client.close();
  });
});
