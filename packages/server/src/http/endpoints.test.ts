import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { io } from 'socket.io-client';
import { parseConfig } from '../config/load.js';
import { startHerald, TEST_API_KEY, TEST_SECRET } from '../testing/herald-fixture.js';
import { connectClient } from '../testing/ws-client.js';
import { endpointListing } from './endpoints-doc.js';
import { describeEndpoints, endpointLines } from './endpoints.js';
import { packageVersion } from './openapi.js';

const REDIS_PASSWORD = 'redis-password-not-to-show';

const config = {
  api: {
    keys: [{ key: TEST_API_KEY, name: 'test' }, { key: 'second-key-not-to-show', tenant: 'acme' }],
    publicStats: true,
    broadcasts: [
      { name: 'call-new', event: 'call:new', payload: 'call' },
      { name: 'notification', event: 'notification', rooms: ['operators', 'directors'] },
    ],
  },
  routes: [
    { path: '/ws/projects/{project_id}', channel: 'project:{project_id}', format: 'data' as const },
    { path: '/api/v0.2/tasks/stream', channel: 'tasks', format: 'data' as const, resume: { frame: 'HELLO', field: 'revision' } },
    { path: '/ws/plain' },
  ],
  socketio: { namespaces: ['/', { name: '/ws/dashboard', channels: ['dashboard'] }] },
  engine: { redis: { password: REDIS_PASSWORD } },
};

/** GET with a chosen Host header (fetch does not let a test set one). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function assertNoSecrets(text: string) {
  for (const secret of [TEST_SECRET, TEST_API_KEY, 'second-key-not-to-show', REDIS_PASSWORD]) assert.ok(!text.includes(secret), `shows ${secret}`);
}

describe('GET /: what this gateway serves', () => {
  it('answers JSON by default, listing the configured endpoints and no secret', async () => {
    await using herald = await startHerald(config);
    const response = await fetch(`${herald.url}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(response.headers.get('vary') ?? '', /Accept/);
    const text = await response.text();
    assertNoSecrets(text);
    const body = JSON.parse(text);
    assert.deepEqual(endpointListing.parse(body), body, 'the documented shape, nothing more');
    assert.equal(body.name, 'Herald');
    assert.equal(body.version, packageVersion());
    assert.deepEqual(body.websocket, { path: '/ws', protocol: 'docs/protocol.md' });
    assert.deepEqual(
      body.routes.map((r: any) => [r.path, r.channel, r.sse]),
      [['/ws/projects/{project_id}', 'project:{project_id}', true], ['/api/v0.2/tasks/stream', 'tasks', true], ['/ws/plain', null, false]],
    );
    assert.deepEqual(body.routes[1].resume, { frame: 'HELLO', field: 'revision' });
    assert.deepEqual(body.socketio, { path: '/socket.io', namespaces: [{ name: '/', channels: [] }, { name: '/ws/dashboard', channels: ['dashboard'] }], polling: true });
    assert.deepEqual(body.sse.map((s: any) => s.path), ['/sse', '/ws/projects/{project_id}', '/api/v0.2/tasks/stream']);
    assert.deepEqual(body.broadcasts, [
      { name: 'call-new', event: 'call:new', path: '/api/v1/broadcast/call-new', payload: 'call', rooms: [] },
      { name: 'notification', event: 'notification', path: '/api/v1/broadcast/notification', payload: null, rooms: ['operators', 'directors'] },
    ]);
    const api = new Map(body.api.map((a: any) => [`${a.method} ${a.path}`, a.auth]));
    assert.equal(api.get('POST /api/v1/publish'), 'apiKey');
    assert.equal(api.get('POST /api/v1/broadcast/{name}'), 'apiKey');
    assert.equal(api.get('GET /api/v1/stats/rooms'), 'none', 'publicStats opens the stats');
    assert.equal(body.openapi, '/api/openapi.json');
    assert.deepEqual(body.operations, { health: '/health', ready: '/ready', metrics: '/metrics' });
    for (const accept of ['application/json', '*/*']) {
      const r = await fetch(`${herald.url}/`, { headers: { accept } });
      assert.deepEqual(await r.json(), body, accept);
    }
  });

  it('lists only endpoints that answer', async () => {
    await using herald = await startHerald(config);
    const listing = (await herald.api('GET', '/')).body;
    for (const path of [listing.openapi, ...Object.values(listing.operations)] as string[]) assert.equal((await fetch(herald.url + path)).status, 200, path);
    for (const b of listing.broadcasts) {
      const r = await herald.api('POST', b.path, { rooms: ['news'], data: {}, call: {} });
      assert.equal(r.status, 200, `${b.path}: ${JSON.stringify(r.body)}`);
    }
    const token = await herald.token({ sub: 'alice' });
    const ws = await connectClient(herald.wsUrl, token, listing.websocket.path);
    ws.close();
    for (const namespace of listing.socketio.namespaces) {
      const socket = io(`${herald.url}${namespace.name === '/' ? '' : namespace.name}`, { path: listing.socketio.path, auth: { token }, transports: ['websocket'], reconnection: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('connected', () => resolve());
        socket.once('connect_error', reject);
      });
      socket.disconnect();
    }
    const stream = await fetch(`${herald.url}/ws/projects/7?token=${token}`, { headers: { accept: 'text/event-stream' } });
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    await stream.body?.cancel();
  });

  it('answers a browser with a page of the same endpoints, escaping what the request sent', async () => {
    await using herald = await startHerald(config);
    const port = new URL(herald.url).port;
    const page = await get(`${herald.url}/`, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', host: `127.0.0.1:${port}` });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html; charset=utf-8/);
    assertNoSecrets(page.body);
    assert.match(page.body, new RegExp(`<title>Herald ${packageVersion().replace(/\./g, '\\.')}</title>`));
    for (const shown of [
      `ws://127.0.0.1:${port}/ws?token=&#60;jwt&#62;`,
      `ws://127.0.0.1:${port}/ws/projects/{project_id}?token=`,
      '{&#34;type&#34;:&#34;HELLO&#34;,&#34;revision&#34;:N}',
      `io(&#34;http://127.0.0.1:${port}/ws/dashboard&#34;`,
      'joins dashboard',
      `http://127.0.0.1:${port}/sse?channels=a,b&#38;token=`,
      '<code>/api/v1/broadcast/call-new</code>',
      '<code>call:new</code>',
      'operators, directors',
      '<a href="/api/openapi.json">',
      '<a href="/health">',
      '<a href="/metrics">',
      '<code>docs/protocol.md</code>',
    ]) {
      assert.ok(page.body.includes(shown), `the page shows ${shown}`);
    }
    const hostile = await get(`${herald.url}/`, { accept: 'text/html', host: 'x"><script>alert(1)</script>' });
    assert.equal(hostile.status, 200);
    assert.ok(!hostile.body.includes('<script>'), 'the Host header is escaped');
    assert.ok(hostile.body.includes('&#60;script&#62;'));
  });

  it('gives the start-up banner the same endpoints', () => {
    const listing = describeEndpoints(parseConfig({ auth: { jwt: { secret: TEST_SECRET } }, ...config }, 'test'));
    const lines = endpointLines(listing, 'http://127.0.0.1:5009').join('\n');
    for (const shown of [
      'Endpoints   http://127.0.0.1:5009/',
      'WebSocket   ws://127.0.0.1:5009/ws?token=<jwt>',
      'Routes      ws://127.0.0.1:5009/ws/projects/{project_id}?token=<jwt>  (channel project:{project_id}, the bare data; SSE on the same path)',
      'ws://127.0.0.1:5009/ws/plain?token=<jwt>  (no channel, full envelopes)',
      'Socket.IO   io("http://127.0.0.1:5009", { auth: { token } })',
      'io("http://127.0.0.1:5009/ws/dashboard", { auth: { token } })  (joins dashboard)',
      'SSE         http://127.0.0.1:5009/sse?channels=a,b&token=<jwt>  (and the routes above, with Accept: text/event-stream)',
      'Broadcasts  POST http://127.0.0.1:5009/api/v1/broadcast/call-new  → call:new',
      'POST http://127.0.0.1:5009/api/v1/broadcast/notification  → notification (rooms operators, directors unless given)',
      'HTTP API    http://127.0.0.1:5009/api/openapi.json',
      'Health      http://127.0.0.1:5009/health, /ready, /metrics',
    ]) {
      assert.ok(lines.includes(shown), `the banner shows ${shown}\n${lines}`);
    }
  });
});
