import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHerald, TEST_API_KEY, waitFor, type HeraldFixture } from '@herald/server/testing';
import { RawSocket, parseResponse } from './support/raw-socket.js';
import { resetRepeatedly, sendThenReset } from './support/resets.js';
import { assertStillServes } from './support/still-serves.js';

/** Resets per stage and timing: 5 × 4 timings × 14 stages, about 280 connections. */
const ROUNDS = 5;

const request = (method: string, path: string, headers: Record<string, string> = {}, body = '') =>
  [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', body].join('\r\n');

const publishBody = JSON.stringify({ channel: 'busy', event: 'tick', data: { pad: 'x'.repeat(1500) } });
const publishHeaders = { Authorization: `Bearer ${TEST_API_KEY}`, 'Content-Type': 'application/json', 'Content-Length': String(publishBody.length) };

/** A fresh engine.io long-polling session id. */
async function pollingSid(herald: HeraldFixture): Promise<string> {
  const handshake = await (await fetch(`${herald.url}/socket.io/?EIO=4&transport=polling`)).text();
  return JSON.parse(handshake.slice(1)).sid as string;
}

describe('TCP resets during HTTP requests, SSE streams and long-polls', () => {
  let herald: HeraldFixture;
  let token: string;
  let publishing = true;
  let publisher: Promise<void>;

  before(async () => {
    herald = await startHerald();
    token = await herald.token({ sub: 'reader' });
    // Publications keep flowing on `busy`, so streams are reset while they are being written to.
    publisher = (async () => {
      while (publishing) {
        await herald.api('POST', '/api/v1/publish', JSON.parse(publishBody));
        await sleep(5);
      }
    })();
  });
  after(async () => {
    publishing = false;
    await publisher;
    await herald.close();
  });

  const sse = (channels: string, t: string) => request('GET', `/sse?channels=${channels}&token=${t}`, { Accept: 'text/event-stream' });
  const streaming = async (raw: RawSocket) => {
    raw.write(sse('busy', token));
    await raw.until((r) => r.text.includes('event: connected'), 3000, 'the connected event');
  };
  const stages: [string, (raw: RawSocket) => void | Promise<void>, number?][] = [
    ['a connection that sends nothing', () => undefined, 100],
    ['a request line cut short', (raw) => raw.write('GET /hea')],
    ['headers cut short', (raw) => raw.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ')],
    ['a complete GET /health', (raw) => raw.write(request('GET', '/health'))],
    ['a publish whose body is cut short', (raw) => raw.write(request('POST', '/api/v1/publish', publishHeaders, publishBody.slice(0, 700)))],
    ['a complete publish', (raw) => raw.write(request('POST', '/api/v1/publish', publishHeaders, publishBody))],
    ['an SSE request waiting on its token', (raw) => raw.write(sse('busy', token))],
    ['an SSE request refused for its token (401)', (raw) => raw.write(sse('busy', 'forged'))],
    ['an SSE request refused for its channels (400)', (raw) => raw.write(sse('a,a', token))],
    ['an SSE stream while publications flow', streaming],
    ['a Socket.IO polling handshake', (raw) => raw.write(request('GET', '/socket.io/?EIO=4&transport=polling'))],
    ['a pending Socket.IO long-poll', async (raw) => raw.write(request('GET', `/socket.io/?EIO=4&transport=polling&sid=${await pollingSid(herald)}`)), 200],
    [
      'a Socket.IO polling POST cut short',
      async (raw) => {
        const sid = await pollingSid(herald);
        // As socket.io-client does, a GET is pending while it posts. Without one, engine.io holds
        // the broken session 30 s for a GET to take its close packet, and this process with it.
        const poll = await RawSocket.open(herald.url);
        poll.write(request('GET', `/socket.io/?EIO=4&transport=polling&sid=${sid}`));
        await sleep(20);
        raw.write(request('POST', `/socket.io/?EIO=4&transport=polling&sid=${sid}`, { 'Content-Type': 'text/plain', 'Content-Length': '400' }, '40{"token":"'));
        setTimeout(() => poll.destroy(), 300);
      },
      200,
    ],
    ['a Socket.IO polling request for an unknown sid', (raw) => raw.write(request('GET', '/socket.io/?EIO=4&transport=polling&sid=nope'))],
  ];

  for (const [stage, send, answerMs] of stages) {
    it(`survives resets during ${stage}`, async () => {
      const resets = await resetRepeatedly(ROUNDS, (timing) => sendThenReset(herald.url, send, timing, answerMs));
      assert.equal(resets, ROUNDS * 4);
      await assertStillServes(herald);
    });
  }

  it('leaves no session behind, and still serves', async () => {
    await waitFor(() => herald.server.node.sessions.size === 0, 'every reset stream closed', 5000);
    await assertStillServes(herald);
    // A plain request on a fresh connection is answered in full.
    const raw = await RawSocket.open(herald.url);
    raw.write(request('GET', '/health', { Connection: 'close' }));
    const response = await raw.until((r) => parseResponse(r.text), 3000, 'the health response');
    assert.equal(response.status, 200);
    raw.destroy();
  });
});
