import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type HeraldFixture } from '@herald/server/testing';
import { assertNoInternals } from './support/no-internals.js';
import { rawRequest } from './support/raw-socket.js';
import { assertStillServes } from './support/still-serves.js';
import { upgradeRequest } from './support/ws-wire.js';

const get = (path: string, headers: Record<string, string> = {}, requestLine = `GET ${path} HTTP/1.1`) =>
  [requestLine, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');

/** One header far past Node's 16 KiB limit; thousands of small ones past it; hundreds within it. */
const HUGE_HEADER = { 'X-Huge': 'x'.repeat(20_000) };
const MANY_HEADERS = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`X-Flood-${i}`, 'v']));
const SOME_HEADERS = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`X-Some-${i}`, 'v']));

describe('hostile HTTP requests', () => {
  let herald: HeraldFixture;
  let token: string;
  before(async () => {
    herald = await startHerald();
    token = await herald.token({ sub: 'reader' });
  });
  after(() => herald.close());

  const paths = () => ({
    'the HTTP API': (h: Record<string, string>) => get('/health', h),
    'a WebSocket upgrade': (h: Record<string, string>) => upgradeRequest(`/ws?token=${token}`, h),
    'a Socket.IO upgrade': (h: Record<string, string>) => upgradeRequest('/socket.io/?EIO=4&transport=websocket', h),
    'a Socket.IO long-poll': (h: Record<string, string>) => get('/socket.io/?EIO=4&transport=polling', h),
    'an SSE stream': (h: Record<string, string>) => get(`/sse?channels=a&token=${token}`, { Accept: 'text/event-stream', ...h }),
  });

  describe('header floods', () => {
    for (const [path, request] of Object.entries(paths())) {
      it(`answers a 20 KB header on ${path} with 431`, async () => {
        const response = await rawRequest(herald.url, request(HUGE_HEADER));
        assert.equal(response.status, 431);
        assertNoInternals(response.body);
        await assertStillServes(herald);
      });

      it(`answers 5,000 headers on ${path} with 431`, async () => {
        const response = await rawRequest(herald.url, request(MANY_HEADERS));
        assert.equal(response.status, 431);
        assertNoInternals(response.body);
        await assertStillServes(herald);
      });

      it(`serves ${path} with 500 small headers, within the limit`, async () => {
        const response = await rawRequest(herald.url, request(SOME_HEADERS));
        assert.ok([101, 200].includes(response.status), `status ${response.status}: ${response.body}`);
        await assertStillServes(herald);
      });
    }

    it('answers a 20 KB request line with 431', async () => {
      const response = await rawRequest(herald.url, get(`/health?${'q'.repeat(20_000)}`));
      assert.equal(response.status, 431);
      await assertStillServes(herald);
    });
  });

  describe('requests the HTTP parser refuses', () => {
    const cases: [string, string][] = [
      ['CR inside a header value', get('/health', { 'X-Bad': 'a\rb' })],
      ['LF inside a header value', get('/health', { 'X-Bad': 'a\nInjected: yes' })],
      ['NUL inside a header value', get('/health', { 'X-Bad': 'a\0b' })],
      ['CR in an SSE Last-Event-ID', get(`/sse?channels=a&token=${token}`, { Accept: 'text/event-stream', 'Last-Event-ID': 'a\rb' })],
      ['an unknown HTTP version', get('/health', {}, 'GET /health HTTP/9.9')],
      ['bytes that are not HTTP', '\x00\x01\x02\x03\r\n\r\n'],
      ['both Content-Length and chunked', ['POST /api/v1/publish HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Content-Length: 5', '', '0', '', ''].join('\r\n')],
      ['a header line without a colon', 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\n\r\n'],
    ];
    for (const [name, request] of cases) {
      it(`answers ${name} with 400`, async () => {
        const response = await rawRequest(herald.url, request);
        assert.equal(response.status, 400);
        assertNoInternals(response.body);
        await assertStillServes(herald);
      });
    }

    it(
      "answers parser refusals (400, 431) in Herald's error shape",
      async () => {
        for (const request of [get('/health', { 'X-Bad': 'a\rb' }), get('/health', HUGE_HEADER)]) {
          const response = await rawRequest(herald.url, request);
          assert.equal(JSON.parse(response.body).error.code, 'bad_request', response.body);
        }
      },
    );
  });
});
