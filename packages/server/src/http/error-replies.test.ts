import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '@herald/protocol';
import { startHerald, TEST_API_KEY, type HeraldFixture } from '../testing/herald-fixture.js';

const TENANT_A_KEY = 'tenant-a-key-0123456789';

/** A request with the API key; the answer's status and raw text. */
async function raw(herald: HeraldFixture, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const response = await fetch(herald.url + path, { method, headers: { authorization: `Bearer ${TEST_API_KEY}`, ...headers }, ...(body !== undefined ? { body } : {}) });
  return { status: response.status, text: await response.text() };
}

/** Asserts the documented error shape, a documented code, and nothing of fastify's own. */
function assertApiError(answer: { status: number; text: string }, status: number, expected: { code: string; message: string; field?: string }) {
  assert.equal(answer.status, status, answer.text);
  assert.doesNotMatch(answer.text, /FST_|statusCode|Bad Request/);
  const body = JSON.parse(answer.text);
  assert.deepEqual(body, { error: expected });
  assert.ok((Object.values(ErrorCode) as string[]).includes(body.error.code));
}

describe('HTTP errors: the documented shape, messages written for the caller', () => {
  let herald: HeraldFixture;
  before(async () => {
    herald = await startHerald({ api: { keys: [{ key: TEST_API_KEY, name: 'test' }, { key: TENANT_A_KEY, name: 'a-only', tenant: 'a' }] } });
  });
  after(() => herald.close());

  it('answers a path that is not valid percent-encoding', async () => {
    for (const path of ['/api/v1/channels/%E0%A4%A/history', '/api/v1/channels/%/history', '/nowhere%E0']) {
      assertApiError(await raw(herald, 'GET', path), 400, { code: 'bad_request', message: 'the URL path is not valid percent-encoded UTF-8', field: 'path' });
    }
  });

  it('answers bodies that are not JSON objects in its own words', async () => {
    const json = { 'content-type': 'application/json' };
    assertApiError(await raw(herald, 'POST', '/api/v1/publish', '{bad', json), 400, {
      code: 'bad_request',
      message: 'body: not valid JSON (keys __proto__ and constructor.prototype are refused too)',
      field: 'body',
    });
    assertApiError(await raw(herald, 'POST', '/api/v1/publish', '', json), 400, { code: 'bad_request', message: 'body: empty; send a JSON object, or no Content-Type', field: 'body' });
    assertApiError(await raw(herald, 'POST', '/api/v1/publish', 'x', { 'content-type': 'text/plain' }), 415, {
      code: 'bad_request',
      message: 'body: Content-Type must be application/json',
      field: 'body',
    });
    assertApiError(await raw(herald, 'POST', '/api/v1/publish', 'x'.repeat(1_048_577), json), 413, { code: 'bad_request', message: 'body: larger than 1048576 bytes', field: 'body' });
  });

  it('answers a tenant-bound key naming another tenant with 403, alone or in a batch item', async () => {
    const auth = { authorization: `Bearer ${TENANT_A_KEY}` };
    const forbidden = { code: 'forbidden', message: 'this API key is limited to tenant a' };
    assertApiError(await raw(herald, 'GET', '/api/v1/channels/c/history?tenant=b', undefined, auth), 403, forbidden);
    const batch = await herald.api('POST', '/api/v1/publish/batch', { publications: [{ channel: 'c', event: 'e', tenant: 'b' }, { channel: 'c', event: 'e' }] }, auth);
    assert.deepEqual(batch.body.results[0], { error: forbidden });
    assert.equal(batch.body.results[1].offset, 1);
  });
});
