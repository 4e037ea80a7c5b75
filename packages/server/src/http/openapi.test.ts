import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../config/load.js';
import { startHerald, TEST_SECRET, type HeraldFixture } from '../testing/herald-fixture.js';
import { openUpload } from '../testing/stream-upload-client.js';
import { connectClient } from '../testing/ws-client.js';
import { buildOpenApi, documentedRoutes, openApiPath } from './openapi.js';
import type { RouteDoc } from './route-doc.js';
import { servedRoutes } from './route-table.js';

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/** A request path for a route: `x` for each path parameter and each required query parameter. */
function examplePath(route: RouteDoc): string {
  const path = route.url.replace(/:[A-Za-z_]+/g, 'x');
  const required = Object.entries(route.query?.shape ?? {}).filter(([, schema]) => !(schema as { isOptional(): boolean }).isOptional());
  return required.length > 0 ? `${path}?${required.map(([name]) => `${name}=x`).join('&')}` : path;
}

/** Opens an event stream, reads its status and type, and hangs up. */
async function openStream(herald: HeraldFixture, path: string) {
  const abort = new AbortController();
  const response = await fetch(herald.url + path, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  abort.abort();
  return { status: response.status, body: undefined, contentType: response.headers.get('content-type') ?? '' };
}

async function openedStream(herald: HeraldFixture): Promise<string> {
  return (await herald.api('POST', '/api/v1/streams', { channel: 'answers', kind: 'tokens' })).body.id;
}

/** One real request per documented operation; a new route without one fails the coverage test. */
const samples: Record<string, (herald: HeraldFixture) => Promise<{ status: number; body: unknown; contentType?: string }>> = {
  index: (h) => h.api('GET', '/'),
  health: (h) => h.api('GET', '/health'),
  ready: (h) => h.api('GET', '/ready'),
  metrics: (h) => h.api('GET', '/metrics'),
  openapi: (h) => h.api('GET', '/api/openapi.json'),
  publish: (h) => h.api('POST', '/api/v1/publish', { channel: 'news', event: 'e' }),
  publishBatch: (h) => h.api('POST', '/api/v1/publish/batch', { publications: [{ channel: 'news', event: 'e' }, { channels: ['a', 'b'], event: 'e' }, { channel: 'news' }] }),
  channelHistory: async (h) => {
    const first = await h.api('POST', '/api/v1/publish', { channel: 'news', event: 'e' });
    await h.api('POST', '/api/v1/publish', { channel: 'news', event: 'e' });
    return h.api('GET', `/api/v1/channels/news/history?lastId=${first.body.id}`);
  },
  channelPresence: (h) => h.api('GET', '/api/v1/channels/room/presence'),
  disconnectUser: (h) => h.api('POST', '/api/v1/users/bob/disconnect', { reason: 'bye' }),
  connectionStats: (h) => h.api('GET', '/api/v1/stats/connections'),
  roomStats: (h) => h.api('GET', '/api/v1/stats/rooms'),
  webhookStats: (h) => h.api('GET', '/api/v1/stats/webhooks'),
  overviewStats: (h) => h.api('GET', '/api/v1/stats?scope=cluster'),
  listConnections: (h) => h.api('GET', '/api/v1/connections'),
  listLocks: (h) => h.api('GET', '/api/v1/locks'),
  searchChannels: (h) => h.api('GET', '/api/v1/channels?pattern=ro*'),
  channelInfo: (h) => h.api('GET', '/api/v1/channels/room'),
  loadedConfig: (h) => h.api('GET', '/api/v1/config'),
  streamOpen: (h) => h.api('POST', '/api/v1/streams', { channel: 'answers', kind: 'tokens', start: { type: 'start' } }),
  streamChunks: async (h) => h.api('POST', `/api/v1/streams/${await openedStream(h)}/chunks`, { chunks: [{ type: 'token', content: 'a' }] }),
  streamUpload: async (h) => {
    const upload = openUpload(`${h.url}/api/v1/streams/${await openedStream(h)}/upload`, h.apiKey);
    upload.write('{"type":"token","content":"a"}');
    upload.end();
    return upload.response;
  },
  streamComplete: async (h) => h.api('POST', `/api/v1/streams/${await openedStream(h)}/complete`, { type: 'done' }),
  streamFail: async (h) => {
    const id = await openedStream(h);
    await h.api('POST', `/api/v1/streams/${id}/fail`, { type: 'failed' });
    return h.api('POST', `/api/v1/streams/${id}/fail`, { type: 'failed' });
  },
  streamCancel: async (h) => {
    await openedStream(h);
    const response = await fetch(`${h.url}/api/v1/streams/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.token({ sub: 'sam' })}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'answers' }),
    });
    return { status: response.status, body: await response.json() };
  },
  listStreams: async (h) => {
    await openedStream(h);
    return h.api('GET', '/api/v1/streams');
  },
  streamAdminCancel: async (h) => h.api('POST', `/api/v1/streams/${await openedStream(h)}/cancel`),
  sseStream: async (h) => openStream(h, `/sse?channels=room&token=${encodeURIComponent(await h.token({ sub: 'sam' }))}`),
};

const routesConfig = { routes: [{ path: '/ws/projects/{project_id}', channel: 'project:{project_id}', format: 'data' as const }, { path: '/ws/plain' }] };

describe('OpenAPI document', () => {
  it('is served at /api/openapi.json without a key', async () => {
    await using herald = await startHerald();
    const response = await fetch(`${herald.url}/api/openapi.json`);
    assert.equal(response.status, 200);
    const doc = (await response.json()) as any;
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.components.securitySchemes.apiKey.scheme, 'bearer');
    assert.ok(doc.paths['/api/v1/channels/{channel}/history'].get);
  });

  for (const [name, config] of [['the default configuration', {}], ['configured routes', routesConfig]] as const) {
    it(`lists exactly the routes fastify serves, with ${name}`, async () => {
      await using herald = await startHerald(config);
      const doc = (await herald.api('GET', '/api/openapi.json')).body;
      const inDocument = new Set(Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => key(m, path))));
      const served = servedRoutes(herald.server.http);
      const gets = new Set(served.filter((r) => r.method === 'GET').map((r) => r.url));
      // Fastify answers HEAD for every GET by itself; those are not separate operations.
      const operations = served.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)));
      assert.deepEqual(new Set(operations.map((r) => key(r.method, openApiPath(r.url)))), inDocument);
      assert.equal(operations.length, inDocument.size, 'a route is registered twice');
    });
  }

  it('asks for a key or token exactly where the routes do', async () => {
    await using herald = await startHerald(routesConfig);
    const doc = (await herald.api('GET', '/api/openapi.json')).body;
    for (const route of documentedRoutes(herald.server.node.config)) {
      const op = doc.paths[openApiPath(route.url)][route.method.toLowerCase()];
      const response = await fetch(herald.url + examplePath(route), {
        method: route.method,
        headers: { accept: 'application/json, text/event-stream', ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(route.method === 'POST' ? { body: '{}' } : {}),
      });
      const needsKey = op.security.length > 0 && !op.security.some((s: object) => Object.keys(s).length === 0);
      assert.equal(response.status === 401, needsKey, `${route.method} ${route.url}: status ${response.status}, security ${JSON.stringify(op.security)}`);
      if (needsKey) assert.ok(op.responses['401'], `${route.url} documents its 401`);
    }
  });

  it('describes what each route really answers', async () => {
    await using herald = await startHerald();
    const routes = documentedRoutes(herald.server.node.config);
    assert.deepEqual(Object.keys(samples).sort(), routes.map((r) => r.operationId).sort(), 'every route has a sample request');
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
    await client.request({ type: 'subscribe', channel: 'room' });
    for (const route of routes) {
      const res = await samples[route.operationId](herald);
      const documented = route.responses[res.status];
      assert.ok(documented, `${route.operationId} answered an undocumented ${res.status}`);
      if (res.contentType !== undefined) assert.ok(res.contentType.startsWith(documented.contentType ?? 'application/json'), `${route.operationId}: ${res.contentType}`);
      if (!documented.schema) continue;
      // z.object drops keys it does not know, so a field the document omits shows up as a difference.
      const parsed = documented.schema.safeParse(res.body);
      assert.ok(parsed.success, `${route.operationId}: ${JSON.stringify(parsed.error?.issues)}`);
      if (route.operationId !== 'openapi') assert.deepEqual(parsed.data, res.body, route.operationId);
    }
    client.close();
  });

  it('resolves every $ref to a component', async () => {
    await using herald = await startHerald();
    const doc = (await herald.api('GET', '/api/openapi.json')).body;
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    assert.ok(refs.length > 10);
    for (const ref of refs) assert.ok(doc.components.schemas[ref], `missing component ${ref}`);
    assert.ok(!JSON.stringify(doc).includes('"$schema"'), 'components carry no $schema of their own');
  });

  it('documents parameters, bodies and the error shape from the zod schemas', () => {
    const doc = buildOpenApi(parseConfig({ auth: { jwt: { secret: TEST_SECRET } } }, 'test')) as any;
    const history = doc.paths['/api/v1/channels/{channel}/history'].get;
    assert.deepEqual(
      history.parameters.map((p: any) => [p.name, p.in, p.required]),
      [['channel', 'path', true], ['tenant', 'query', false], ['limit', 'query', false], ['offset', 'query', false], ['epoch', 'query', false], ['lastId', 'query', false]],
    );
    assert.equal(history.parameters.find((p: any) => p.name === 'limit').schema.type, 'integer');
    const publish = doc.components.schemas.PublishRequest;
    assert.deepEqual(publish.required, ['event']);
    assert.equal(publish.additionalProperties, false);
    assert.equal(publish.properties.channel.maxLength, 255);
    assert.equal(doc.paths['/api/v1/users/{userId}/disconnect'].post.requestBody.required, false);
    const error = doc.components.schemas.Error;
    assert.deepEqual(error.required, ['error']);
    assert.deepEqual(error.properties.error.required, ['code', 'message']);
    assert.ok(error.properties.error.properties.code.enum.includes('bad_request'));
  });

  it('documents configured routes as event streams with their path parameters', () => {
    const doc = buildOpenApi(parseConfig({ auth: { jwt: { secret: TEST_SECRET } }, ...routesConfig }, 'test')) as any;
    const op = doc.paths['/ws/projects/{project_id}'].get;
    assert.deepEqual(op.security, [{ clientToken: [] }]);
    assert.deepEqual(op.parameters.filter((p: any) => p.in === 'path').map((p: any) => p.name), ['project_id']);
    assert.ok(op.responses['200'].content['text/event-stream']);
    assert.equal(doc.paths['/ws/plain'], undefined, 'a route without a channel serves no event stream');
  });

  it('shows the stats key as optional when api.publicStats is on', () => {
    const closed = buildOpenApi(parseConfig({ auth: { jwt: { secret: TEST_SECRET } } }, 'test')) as any;
    const open = buildOpenApi(parseConfig({ auth: { jwt: { secret: TEST_SECRET } }, api: { publicStats: true } }, 'test')) as any;
    assert.deepEqual(closed.paths['/api/v1/stats/rooms'].get.security, [{ apiKey: [] }]);
    assert.deepEqual(open.paths['/api/v1/stats/rooms'].get.security, [{}, { apiKey: [] }]);
    assert.deepEqual(open.paths['/api/v1/publish'].post.security, [{ apiKey: [] }]);
  });
});
