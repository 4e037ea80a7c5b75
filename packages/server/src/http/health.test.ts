import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald } from '../testing/herald-fixture.js';
import { connectClient } from '../testing/ws-client.js';

describe('HTTP operations', () => {
  describe('GET /health', () => {
    it('answers 200 without a key', async () => {
      await using herald = await startHerald();
      const response = await fetch(`${herald.url}/health`);
      assert.equal(response.status, 200);
      const body = (await response.json()) as any;
      assert.equal(body.status, 'ok');
      assert.equal(body.engine, 'memory');
      assert.equal(body.connections, 0);
      assert.equal(typeof body.uptime, 'number');
    });
  });

  describe('GET /ready', () => {
    it('answers 200, then 503 once the hub is shutting down', async () => {
      await using herald = await startHerald();
      const ready = await fetch(`${herald.url}/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready', engine: 'ok', accepting: true });
      await herald.server.node.shutdown();
      const draining = await fetch(`${herald.url}/ready`);
      assert.equal(draining.status, 503);
      assert.deepEqual(await draining.json(), { status: 'not ready', engine: 'ok', accepting: false });
    });
  });

  describe('GET /metrics', () => {
    it('serves Prometheus text with herald_connections', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
      const response = await fetch(`${herald.url}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await response.text();
      assert.match(text, /^herald_connections\{transport="websocket"\} 1$/m);
      assert.match(text, /^# TYPE herald_publications_total counter$/m);
      client.close();
    });
  });

  describe('unknown routes', () => {
    it('answers 404 in the error shape', async () => {
      await using herald = await startHerald();
      for (const [method, path] of [['GET', '/nope'], ['POST', '/api/v1/nope'], ['GET', '/api/v1/publish'], ['DELETE', '/api/v1/publish']]) {
        const res = await herald.api(method, path);
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(res.body.error.code, 'not_found');
        assert.match(res.body.error.message, new RegExp(path));
      }
    });
  });

  describe('CORS', () => {
    it('answers a preflight from any origin when none are configured', async () => {
      await using herald = await startHerald();
      const response = await fetch(`${herald.url}/api/v1/publish`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      assert.equal(response.status, 204);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      assert.match(response.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match(response.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    });

    it('allows only configured origins', async () => {
      await using herald = await startHerald({ server: { corsOrigins: ['https://crm.example'] } });
      const allowed = await fetch(`${herald.url}/api/v1/stats/rooms`, { method: 'OPTIONS', headers: { origin: 'https://crm.example', 'access-control-request-method': 'GET' } });
      assert.equal(allowed.status, 204);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://crm.example');
      const simple = await fetch(`${herald.url}/health`, { headers: { origin: 'https://crm.example' } });
      assert.equal(simple.headers.get('access-control-allow-origin'), 'https://crm.example');
      const other = await fetch(`${herald.url}/api/v1/stats/rooms`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      assert.notEqual(other.status, 204);
    });
  });
});
