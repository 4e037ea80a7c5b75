import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '@herald/protocol';
import { SseTestClient, startHerald, within, type HeraldFixture } from '@herald/server/testing';
import { assertNoInternals } from './support/no-internals.js';
import { rawRequest } from './support/raw-socket.js';
import { assertStillServes } from './support/still-serves.js';

/** Control characters that would end an SSE field or line, as they travel percent-encoded in a URL. */
const CONTROLS: [string, string][] = [
  ['CR', '%0D'],
  ['LF', '%0A'],
  ['CRLF and a forged field', '%0D%0Aevent:%20injected%0D%0A'],
  ['NUL', '%00'],
];

/** The field names of every line of a raw stream: what an injection would add to. */
const fieldNames = (raw: string) => new Set(raw.split(/\r\n|\r|\n/).filter((l) => l && !l.startsWith(':')).map((l) => l.split(':')[0]));

describe('hostile input on Server-Sent Events', () => {
  let herald: HeraldFixture;
  let token: string;
  before(async () => {
    herald = await startHerald({ routes: [{ path: '/items/{id}/events', channel: 'item:{id}' }] });
    token = await herald.token({ sub: 'reader' });
  });
  after(() => herald.close());

  describe('control characters in channel names', () => {
    for (const [name, encoded] of CONTROLS) {
      for (const [where, url] of [
        ['?channels=', () => `${herald.url}/sse?channels=ok,a${encoded}b&token=${token}`],
        ['a route path', () => `${herald.url}/items/a${encoded}b/events?token=${token}`],
      ] as const) {
        it(`refuses ${name} in ${where} with invalid_channel, then ends the stream`, async () => {
          const client = new SseTestClient(url());
          assert.equal(await client.opened, 200);
          await within(client.done, 3000, 'the end of the stream');
          const error = client.events.find((e) => e.event === 'error');
          assert.ok(error, `an error event; got ${client.raw}`);
          assert.equal(JSON.parse(error.data).code, ErrorCode.InvalidChannel);
          assert.deepEqual(client.events.map((e) => e.event), ['error', 'close']);
          assert.deepEqual([...fieldNames(client.raw)].sort(), ['data', 'event']);
          assertNoInternals(client.raw);
          await assertStillServes(herald);
        });
      }
    }
  });

  describe('Last-Event-ID', () => {
    for (const [name, encoded] of CONTROLS) {
      it(`answers ${name} in ?lastEventId= with not_recovered, then streams from now`, async () => {
        const client = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}&lastEventId=x${encoded}y`);
        try {
          await client.next((e) => e.event === 'connected');
          assert.equal(JSON.parse(client.events[0].data).reason, 'invalid_cursor');
          assert.deepEqual(client.events.map((e) => e.event), ['not_recovered', 'connected']);
          assert.ok(!fieldNames(client.raw).has('injected'));
        } finally {
          client.close();
        }
        await assertStillServes(herald);
      });
    }

    for (const [name, value] of [
      ['CR', 'a\rb'],
      ['LF', 'a\nevent: injected'],
      ['NUL', 'a\0b'],
    ]) {
      it(`answers ${name} in the Last-Event-ID header with 400 from the HTTP parser`, async () => {
        const response = await rawRequest(
          herald.url,
          `GET /sse?channels=a&token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nLast-Event-ID: ${value}\r\nConnection: close\r\n\r\n`,
        );
        assert.equal(response.status, 400);
        assertNoInternals(response.body);
        await assertStillServes(herald);
      });
    }

    it('answers a Last-Event-ID of 9,000 characters with not_recovered', async () => {
      const client = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}`, { 'Last-Event-ID': 'x'.repeat(9000) });
      try {
        await client.next((e) => e.event === 'connected');
        assert.equal(JSON.parse(client.events[0].data).reason, 'invalid_cursor');
      } finally {
        client.close();
      }
      await assertStillServes(herald);
    });
  });

  describe('event names and data at publish', () => {
    for (const [name, event] of [
      ['CR', 'a\rb'],
      ['LF', 'a\nb'],
      ['CRLF and a forged field', 'ok\r\ndata: injected'],
      ['NUL', 'a\0b'],
    ]) {
      it(`refuses ${name} in an event name with 400 bad_request naming the event`, async () => {
        const response = await herald.api('POST', '/api/v1/publish', { channel: 'a', event, data: 1 });
        assert.equal(response.status, 400);
        assert.equal(response.body.error.code, ErrorCode.BadRequest);
        assert.equal(response.body.error.field, 'event');
        await assertStillServes(herald);
      });
    }

    it('delivers data with CR, LF and NUL as one JSON line: no field or event is added', async () => {
      const client = new SseTestClient(`${herald.url}/sse?channels=lines&token=${token}`);
      try {
        await client.next((e) => e.event === 'connected');
        const data = { text: 'one\r\ntwo\nevent: injected\n\ndata: forged\r\0three' };
        assert.equal((await herald.api('POST', '/api/v1/publish', { channel: 'lines', event: 'note', data })).status, 200);
        const note = await client.next((e) => e.event === 'note');
        assert.deepEqual(JSON.parse(note.data).data, data);
        assert.deepEqual(client.events.map((e) => e.event), ['connected', 'note']);
        assert.deepEqual([...fieldNames(client.raw)].sort(), ['data', 'event', 'id']);
      } finally {
        client.close();
      }
      await assertStillServes(herald);
    });
  });

  it('refuses more than 32 channels, and a channel list of 10,000 commas, with 400', async () => {
    for (const channels of [Array.from({ length: 33 }, (_, i) => `c${i}`).join(','), ','.repeat(10_000)]) {
      const response = await fetch(`${herald.url}/sse?channels=${channels}&token=${token}`, { headers: { accept: 'text/event-stream' } });
      assert.equal(response.status, 400);
      const body = (await response.json()) as { error: { code: string } };
      assert.equal(body.error.code, ErrorCode.BadRequest);
    }
    await assertStillServes(herald);
  });
});
