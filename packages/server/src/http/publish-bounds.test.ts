import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { connectClient } from '../testing/ws-client.js';

/** A publish body whose data nests `depth` arrays deep, built as text: JSON.stringify could not write it. */
const deepBody = (depth: number, channel = 'c') => `{"channel":"${channel}","event":"e","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;

/** The offset the next publication to the channel gets: proves what was (not) stored before it. */
async function nextOffset(herald: HeraldFixture, channel = 'c'): Promise<number> {
  const res = await herald.api('POST', '/api/v1/publish', { channel, event: 'probe' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.offset;
}

describe('HTTP publish: bounds on data', () => {
  it('refuses data nested 100,000 levels deep with 400 naming the limit, and stores nothing', async () => {
    await using herald = await startHerald();
    const watcher = await connectClient(herald.wsUrl, await herald.token({ sub: 'w' }));
    assert.ok((await watcher.request({ type: 'subscribe', channel: 'c' })).result);

    const res = await herald.api('POST', '/api/v1/publish', deepBody(100_000));
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error: { code: 'bad_request', message: 'data: nested deeper than 64 levels', field: 'data' } });

    // Not stored: the next publication takes offset 1, the subscriber sees no gap, history answers.
    assert.equal(await nextOffset(herald), 1);
    const pub = await watcher.next((f) => f.type === 'pub');
    assert.equal(pub.offset, 1);
    const history = await herald.api('GET', '/api/v1/channels/c/history');
    assert.equal(history.status, 200);
    assert.deepEqual(history.body.publications.map((p: any) => p.offset), [1]);
    watcher.close();
  });

  it('accepts 64 levels and refuses 65', async () => {
    await using herald = await startHerald();
    assert.equal((await herald.api('POST', '/api/v1/publish', deepBody(64))).status, 200);
    const deeper = await herald.api('POST', '/api/v1/publish', deepBody(65));
    assert.equal(deeper.status, 400);
    assert.equal(deeper.body.error.field, 'data');
  });

  it('accepts data of 65,536 bytes as JSON and refuses one byte more', async () => {
    await using herald = await startHerald();
    // A string of n ASCII characters is n + 2 bytes of JSON.
    const fits = await herald.api('POST', '/api/v1/publish', { channel: 'c', event: 'e', data: 'x'.repeat(65_534) });
    assert.equal(fits.status, 200, JSON.stringify(fits.body));
    const over = await herald.api('POST', '/api/v1/publish', { channel: 'c', event: 'e', data: 'x'.repeat(65_535) });
    assert.equal(over.status, 400);
    assert.deepEqual(over.body, { error: { code: 'bad_request', message: 'data: larger than 65536 bytes as JSON', field: 'data' } });
    // Bytes, not characters: 'я' is two bytes in UTF-8.
    const wide = await herald.api('POST', '/api/v1/publish', { channel: 'c', event: 'e', data: 'я'.repeat(32_768) });
    assert.equal(wide.status, 400);
    assert.equal(await nextOffset(herald), 2);
  });

  it('takes its limits from limits.maxDataDepth and limits.maxDataBytes', async () => {
    await using herald = await startHerald({ limits: { maxDataDepth: 3, maxDataBytes: 2048 } });
    assert.equal((await herald.api('POST', '/api/v1/publish', { channel: 'c', event: 'e', data: { a: { b: [1] } } })).status, 200);
    const deep = await herald.api('POST', '/api/v1/publish', { channel: 'c', event: 'e', data: { a: { b: [[1]] } } });
    assert.equal(deep.body.error.message, 'data: nested deeper than 3 levels');
    const large = await herald.api('POST', '/api/v1/publish', { channel: 'c', event: 'e', data: 'x'.repeat(2047) });
    assert.equal(large.body.error.message, 'data: larger than 2048 bytes as JSON');
  });

  it('refuses one item of a batch and publishes the others', async () => {
    await using herald = await startHerald();
    const body = `{"publications":[{"channel":"c","event":"first"},${deepBody(100_000).replace('"event":"e"', '"event":"deep"')},{"channel":"c","event":"third"}]}`;
    const res = await herald.api('POST', '/api/v1/publish/batch', body);
    assert.equal(res.status, 200);
    const [first, deep, third] = res.body.results;
    assert.equal(first.offset, 1);
    assert.deepEqual(deep, { error: { code: 'bad_request', message: 'data: nested deeper than 64 levels', field: 'data' } });
    assert.equal(third.offset, 2);
  });

  it('refuses a broadcast alias whose payload is too deep, naming the body field', async () => {
    await using herald = await startHerald({
      api: {
        broadcasts: [
          { name: 'call-new', event: 'call:new', payload: 'call', rooms: ['ops'] },
          { name: 'plain', event: 'plain', rooms: ['ops'] },
        ],
      },
    });
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const call = await herald.api('POST', '/api/v1/broadcast/call-new', `{"call":${deep}}`);
    assert.equal(call.status, 400);
    assert.deepEqual(call.body, { error: { code: 'bad_request', message: 'call: nested deeper than 64 levels', field: 'call' } });
    const plain = await herald.api('POST', '/api/v1/broadcast/plain', `{"data":${deep}}`);
    assert.deepEqual(plain.body, { error: { code: 'bad_request', message: 'data: nested deeper than 64 levels', field: 'data' } });
    assert.equal(await nextOffset(herald, 'ops'), 1);
  });
});
