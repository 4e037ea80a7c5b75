import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { newPublicationId } from '../core/ids.js';
import { channelKey } from '../engine.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { SseTestClient } from '../testing/sse-client.js';
import { waitFor } from '../testing/wait.js';

/** Every line of an SSE stream is a field Herald writes, a comment, or blank: nothing was injected. */
function assertOnlyOwnFields(raw: string): void {
  for (const line of raw.split('\n')) assert.match(line, /^(event: [^\r]*|data: [^\r]*|id: [A-Za-z0-9_:,;-]*|: [^\r]*|)$/, JSON.stringify(line));
  assert.doesNotMatch(raw, /\r/);
}

/** Reads a stream until it ends or for a short while, then aborts. */
async function readStream(url: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
  const client = new SseTestClient(url, headers);
  await Promise.race([client.done, new Promise((resolve) => setTimeout(resolve, 300))]);
  client.close();
  await client.done;
  return client;
}

/** Sends a raw HTTP/1.1 request, for headers fetch refuses to send; resolves with the status line. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n')) {
        resolve(text.slice(0, text.indexOf('\r\n')));
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
}

describe('SseTransport bad input', () => {
  let herald: HeraldFixture;
  let token: string;
  before(async () => {
    herald = await startHerald({ routes: [{ path: '/api/v1/proposals/{id}/events', channel: 'proposal:{id}', format: 'data' }] });
    token = await herald.token({ sub: 'ann', tenant: 'acme' });
  });
  after(() => herald.close());

  describe('header injection', () => {
    it('cannot inject fields through channel names', async () => {
      const sse = await readStream(`${herald.url}/sse?channels=a%0D%0Aevent:%20forged%0A%0Adata:%20x&token=${token}`);
      assert.equal(sse.status, 200);
      assert.equal(JSON.parse(sse.events.find((e) => e.event === 'error')!.data).code, 'invalid_channel');
      assert.equal(sse.events.filter((e) => e.event === 'forged').length, 0);
      assertOnlyOwnFields(sse.raw);
    });

    it('cannot inject fields through a route parameter', async () => {
      const sse = await readStream(`${herald.url}/api/v1/proposals/1%0Aevent:%20forged%0A/events?token=${token}`);
      assert.equal(JSON.parse(sse.events.find((e) => e.event === 'error')!.data).code, 'invalid_channel');
      assertOnlyOwnFields(sse.raw);
    });

    it('cannot inject fields through lastEventId', async () => {
      const sse = await readStream(`${herald.url}/sse?channels=a&lastEventId=1%0D%0Aevent:%20forged%0A%0Adata:%201&token=${token}`);
      assert.equal(JSON.parse(sse.events.find((e) => e.event === 'not_recovered')!.data).reason, 'invalid_cursor');
      assertOnlyOwnFields(sse.raw);
    });

    it('leaves CR or LF in a Last-Event-ID header to the HTTP parser, which refuses them', async () => {
      const port = Number(new URL(herald.url).port);
      // A bare CR is refused; CRLF ends the head, so what follows is a second request, and a malformed one.
      for (const bad of ['1\revent: forged', '1\r\n\r\nevent: forged']) {
        const status = await rawRequest(port, `GET /sse?channels=a&token=${token} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: ${bad}\r\n\r\n`);
        assert.match(status, /^HTTP\/1\.1 400/);
      }
    });

    it('cannot inject fields through publication data or event names', async () => {
      const sse = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}`);
      await sse.next((e) => e.event === 'connected');
      const evil = 'x\r\n\r\nevent: forged\nid: 1\rdata: {}';
      assert.equal((await herald.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'a', event: 'bad\revent', data: 1 })).status, 400);
      await herald.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'a', event: 'evil', data: evil });
      assert.equal(JSON.parse((await sse.next((e) => e.event === 'evil')).data).data, evil);
      sse.close();
      assertOnlyOwnFields(sse.raw);
    });
    it('keeps the framing even for an event name an engine hands over unchecked', async () => {
      const sse = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}`);
      await sse.next((e) => e.event === 'connected');
      // Straight to the engine, past the hub's validation: as another process writing to Redis could.
      const history = { size: 10, ttlMs: 60_000, metaTtlMs: 60_000 };
      const input = { id: newPublicationId(), channel: 'a', event: 'x\r\nevent: forged\n\ndata: {}', data: 1, ts: Date.now() };
      await herald.engine.broker.publish(channelKey('acme', 'a'), input, { history });
      await herald.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'a', event: 'after', data: 2 });
      await sse.next((e) => e.event === 'after');
      sse.close();
      assert.equal(sse.events.filter((e) => e.event === 'forged').length, 0);
      assertOnlyOwnFields(sse.raw);
    });
  });

  describe('forged Last-Event-ID', () => {
    const cursorFor = async (who: string, tenant: string, channel: string): Promise<string> => {
      const sse = new SseTestClient(`${herald.url}/sse?channels=${channel}&token=${await herald.token({ sub: who, tenant })}`);
      await sse.next((e) => e.event === 'connected');
      await herald.api('POST', '/api/v1/publish', { tenant, channel, event: 'n', data: { secret: tenant } });
      await sse.next((e) => e.event === 'n');
      sse.close();
      return sse.lastEventId;
    };

    it('answers an over-long, malformed or mismatched cursor with invalid_cursor and streams from now', async () => {
      for (const forged of ['x'.repeat(9000), 'AAAA:1,BBBB:2', 'AAAA:-1', 'AAAA:1e3', ':1', 'AAAA:1:2', 'ÄÖ:1']) {
        const sse = await readStream(`${herald.url}/sse?channels=a&token=${token}`, { 'last-event-id': forged });
        assert.equal(sse.status, 200);
        assert.equal(JSON.parse(sse.events.find((e) => e.event === 'not_recovered')!.data).reason, 'invalid_cursor', forged.slice(0, 20));
        assert.ok(sse.events.some((e) => e.event === 'connected'));
      }
    });

    it("gives nothing of another tenant's stream for its cursor", async () => {
      const theirs = await cursorFor('eve', 'globex', 'a');
      const sse = await readStream(`${herald.url}/sse?channels=a&token=${token}`, { 'last-event-id': theirs.replace(/:\d+;/, ':0;') });
      const notice = JSON.parse(sse.events.find((e) => e.event === 'not_recovered')!.data);
      assert.ok(['epoch_changed', 'offset_ahead'].includes(notice.reason), notice.reason);
      assert.doesNotMatch(sse.raw, /globex/);
    });

    it('says offset_ahead for a position past the end of the stream', async () => {
      const mine = await cursorFor('ann', 'acme', 'b');
      const ahead = mine.replace(/:(\d+);/, (_m, n: string) => `:${Number(n) + 1000};`);
      const sse = await readStream(`${herald.url}/sse?channels=b&token=${token}`, { 'last-event-id': ahead });
      assert.equal(JSON.parse(sse.events.find((e) => e.event === 'not_recovered')!.data).reason, 'offset_ahead');
    });
  });

  describe('the channels parameter', () => {
    for (const [name, query] of [
      ['missing', ''],
      ['empty', 'channels=,,'],
      ['given twice', 'channels=a&channels=b'],
      ['listing a channel twice', 'channels=a,a'],
      ['with more than 32 channels', `channels=${Array.from({ length: 33 }, (_, i) => `c${i}`).join(',')}`],
    ]) {
      it(`answers ${name} with 400 and a JSON error`, async () => {
        const response = await fetch(`${herald.url}/sse?${query}&token=${token}`, { headers: { accept: 'text/event-stream' } });
        assert.equal(response.status, 400);
        assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'bad_request');
      });
    }

    it('answers a reserved channel with an error event and ends the stream', async () => {
      const sse = new SseTestClient(`${herald.url}/sse?channels=%24tenant&token=${token}`);
      await sse.done;
      assert.equal(JSON.parse(sse.events.find((e) => e.event === 'error')!.data).code, 'invalid_channel');
    });
  });

  it('releases the session of a client whose connection ends while its stream is opening', async () => {
    const port = Number(new URL(herald.url).port);
    // The malformed second request makes the server drop the connection while the first one authenticates.
    const request = `GET /sse?channels=a&token=${token} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\nnot http\r\n\r\n`;
    for (let i = 0; i < 5; i++) assert.match(await rawRequest(port, request), /^HTTP\/1\.1 400/);
    await waitFor(() => herald.server.node.sessions.size === 0, 'no sessions left', 3000);
  });

  it('releases every stream and keeps serving', async () => {
    await waitFor(() => herald.server.node.sessions.size === 0, `no sessions left: ${JSON.stringify([...herald.server.node.sessions.values()].map((s) => [s.identity.userId, s.tenant, [...s.subscriptions.keys()]]))}`, 3000);
    const sse = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}`);
    await sse.next((e) => e.event === 'connected');
    await herald.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'a', event: 'pulse', data: 1 });
    await sse.next((e) => e.event === 'pulse');
    sse.close();
  });
});
