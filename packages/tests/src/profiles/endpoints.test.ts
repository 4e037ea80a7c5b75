import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROFILE_SECRET, PROFILE_WEBHOOK, startProfile, type ProfileServer } from '../support/profile-server.js';
import { waitFor } from '../support/wait.js';

/** The banner, once the gateway has written all of it (the Token line comes last for a profile). */
async function banner(server: ProfileServer): Promise<string> {
  await waitFor(() => /\n {2}Token {7}npx herald token --config /.test(server.stderr()), 'the whole banner');
  return server.stderr();
}

/** What each profile's banner and `GET /` must show, beyond what every profile serves. */
const expected: Record<string, { banner: (base: string) => string[]; page: string[]; json: (listing: any) => void }> = {
  callcenter: {
    banner: (base) => [
      `Socket.IO   io("${base}", { auth: { token } })`,
      ...['call-new', 'call-updated', 'call-ended', 'order-new', 'order-updated', 'order-master-assigned', 'order-status-changed', 'notification'].map(
        (name) => `POST ${base}/api/v1/broadcast/${name}  → `,
      ),
      'notification (rooms operators, directors unless given)',
    ],
    page: ['<code>/api/v1/broadcast/order-master-assigned</code>', '<code>order:master-assigned</code>'],
    json: (l) => {
      assert.equal(l.broadcasts.length, 8);
      assert.deepEqual(l.broadcasts[0], { name: 'call-new', event: 'call:new', path: '/api/v1/broadcast/call-new', payload: 'call', rooms: [] });
      assert.equal(l.api.find((a: any) => a.path === '/api/v1/stats/rooms').auth, 'none', 'publicStats: true');
    },
  },
  scheduling: {
    banner: () => [],
    page: [],
    json: (l) => assert.deepEqual(l.routes, []),
  },
  proposals: {
    banner: (base) => [
      `Routes      ${base.replace('http', 'ws')}/ws/projects/{project_id}?token=<jwt>  (channel project:{project_id}, the bare data; SSE on the same path)`,
      `${base.replace('http', 'ws')}/api/v1/proposals/{id}/events?token=<jwt>  (channel proposal:{id}, the bare data; SSE on the same path)`,
      '(and the routes above, with Accept: text/event-stream)',
    ],
    page: ['/ws/projects/{project_id}?token=', '/api/v1/proposals/{id}/events?token='],
    json: (l) => assert.deepEqual(l.sse.map((s: any) => s.path), ['/sse', '/ws/projects/{project_id}', '/api/v1/proposals/{id}/events']),
  },
  'rental-dashboard': {
    banner: (base) => [`Socket.IO   io("${base}/ws/dashboard", { auth: { token } })  (joins dashboard)`, '--sub alice --tenant acme'],
    page: ['/ws/dashboard&#34;', 'joins dashboard'],
    json: (l) => assert.deepEqual(l.socketio.namespaces, [{ name: '/ws/dashboard', channels: ['dashboard'] }]),
  },
  homeplanner: {
    banner: (base) => [`Routes      ${base.replace('http', 'ws')}/api/v0.2/tasks/stream?token=<jwt>  (channel tasks, the bare data, resume with {"type":"HELLO","revision":N}; SSE on the same path)`],
    page: ['/api/v0.2/tasks/stream?token='],
    json: (l) => assert.deepEqual(l.routes, [{ path: '/api/v0.2/tasks/stream', channel: 'tasks', format: 'data', sse: true, resume: { frame: 'HELLO', field: 'revision' } }]),
  },
};

describe('profiles: the start-up banner and GET / list what each profile serves', () => {
  for (const [profile, want] of Object.entries(expected)) {
    it(profile, async () => {
      await using server = await startProfile(profile);
      const base = server.url;
      const text = await banner(server);
      for (const line of [
        `Herald listening on ${base}  (config: `,
        `Endpoints   ${base}/  (this list: a page in a browser, JSON otherwise)`,
        `WebSocket   ${base.replace('http', 'ws')}/ws?token=<jwt>`,
        `SSE         ${base}/sse?channels=a,b&token=<jwt>`,
        `Publish     POST ${base}/api/v1/publish  (Authorization: Bearer <API key>)`,
        `HTTP API    ${base}/api/openapi.json  (OpenAPI: every route)`,
        `Health      ${base}/health, /ready, /metrics`,
        `Token       npx herald token --config `,
        ...want.banner(base),
      ]) {
        assert.ok(text.includes(line), `the banner shows ${JSON.stringify(line)}:\n${text}`);
      }
      const json = await fetch(`${base}/`);
      assert.equal(json.status, 200);
      const listing = (await json.json()) as any;
      want.json(listing);
      const page = await (await fetch(`${base}/`, { headers: { accept: 'text/html' } })).text();
      assert.match(page, /<h1>Herald <small>/);
      for (const shown of want.page) assert.ok(page.includes(shown), `the page shows ${shown}`);
      for (const secret of [PROFILE_SECRET, PROFILE_WEBHOOK]) {
        for (const [where, body] of [['banner', text], ['JSON', JSON.stringify(listing)], ['page', page]]) assert.ok(!body.includes(secret), `the ${where} shows a secret`);
      }
    });
  }
});
