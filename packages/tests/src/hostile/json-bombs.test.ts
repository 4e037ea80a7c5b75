import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { io, type Socket } from 'socket.io-client';
import { connectClient, startHerald, within, type HeraldFixture, type TestClient } from '@herald/server/testing';
import { assertStillServes } from './support/still-serves.js';

/** Room for a nested document of ~200 KB in client frames, so it is the nesting that is judged, not the size. */
const MAX_MESSAGE_BYTES = 262_144;
const BODY_LIMIT = 1_048_576;

/** `data` nested 100,000 levels deep: ~200 KB of `[[[...]]]`, or ~600 KB of `{"a":{"a":...}}`. */
const NESTED_ARRAYS = '['.repeat(100_000) + ']'.repeat(100_000);
const NESTED_OBJECTS = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);

let channels = 0;
/** A channel of its own per test: a poisoned history must not spill into the next test. */
const freshChannel = (what: string) => `bomb:${what}:${++channels}`;

describe('JSON bombs', () => {
  let herald: HeraldFixture;
  let watcher: TestClient;
  before(async () => {
    // Data as large as the body allows, so that these cases meet the body limit (limits.maxDataBytes is tested with the API).
    herald = await startHerald({ limits: { maxMessageBytes: MAX_MESSAGE_BYTES, maxDataBytes: BODY_LIMIT }, server: { bodyLimit: BODY_LIMIT } });
    watcher = await connectClient(herald.wsUrl, await herald.token({ sub: 'watcher' }));
  });
  after(async () => {
    watcher.close();
    await herald.close();
  });

  /** Subscribes the watcher, so a publication would be fanned out and encoded, not only stored. */
  async function watched(what: string): Promise<string> {
    const channel = freshChannel(what);
    assert.ok((await watcher.request({ type: 'subscribe', channel })).result);
    return channel;
  }

  /** Nothing was stored or delivered on the channel, and its history still answers. */
  async function assertNothingKept(channel: string): Promise<void> {
    const history = await herald.api('GET', `/api/v1/channels/${encodeURIComponent(channel)}/history`);
    assert.equal(history.status, 200, JSON.stringify(history.body));
    assert.deepEqual(history.body.publications, []);
    assert.deepEqual(watcher.pubs(channel), []);
  }

  const assertNamesTheLimit = (error: { code?: string; message?: string } | undefined) => {
    assert.equal(error?.code, ErrorCode.BadRequest, JSON.stringify(error));
    assert.match(error!.message!, /nest|depth|deep/i);
  };

  describe('deeply nested data', () => {
    for (const [shape, nested] of [
      ['arrays', NESTED_ARRAYS],
      ['objects', NESTED_OBJECTS],
    ]) {
      it(`refuses 100,000 levels of ${shape} on POST /api/v1/publish with 400, storing nothing`, async () => {
        const channel = await watched('http');
        const response = await herald.api('POST', '/api/v1/publish', `{"channel":${JSON.stringify(channel)},"event":"e","data":${nested}}`);
        assert.equal(response.status, 400, JSON.stringify(response.body));
        assertNamesTheLimit(response.body.error);
        await assertNothingKept(channel);
        await assertStillServes(herald);
      });
    }

    it('refuses 100,000 levels in a WebSocket publish with bad_request, storing nothing', async () => {
      const channel = await watched('ws');
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'bomber' }));
      try {
        client.send(`{"type":"publish","id":1,"channel":${JSON.stringify(channel)},"event":"e","data":${NESTED_ARRAYS}}`);
        const reply = await client.next((f) => f?.type === 'reply' && f.id === 1);
        assertNamesTheLimit(reply.error);
        await assertNothingKept(channel);
      } finally {
        client.close();
      }
      await assertStillServes(herald);
    });

    for (const transport of ['websocket', 'polling'] as const) {
      it(`refuses 100,000 levels in a Socket.IO publish over ${transport} with bad_request, storing nothing`, async () => {
        const channel = await watched(`sio-${transport}`);
        const socket = await socketIo(herald, transport);
        try {
          // Sent as raw JSON text: socket.io-client would have to build the object first.
          const answer = await publishRaw(socket, `{"channel":${JSON.stringify(channel)},"event":"e","data":${NESTED_ARRAYS}}`);
          assertNamesTheLimit(answer.error);
          await assertNothingKept(channel);
        } finally {
          socket.close();
        }
        await assertStillServes(herald);
      });
    }

    it('accepts and delivers data nested 32 levels deep', async () => {
      const channel = await watched('shallow');
      const data = JSON.parse('{"a":'.repeat(32) + '1' + '}'.repeat(32));
      const response = await herald.api('POST', '/api/v1/publish', { channel, event: 'e', data });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual((await watcher.next((f) => f?.type === 'pub' && f.channel === channel)).data, data);
      await assertStillServes(herald);
    });
  });

  describe('huge arrays and long strings', () => {
    it('accepts and delivers an array of 200,000 numbers within the body limit', async () => {
      const channel = await watched('wide');
      const data = Array.from({ length: 200_000 }, (_, i) => i % 10);
      assert.equal((await herald.api('POST', '/api/v1/publish', { channel, event: 'e', data })).status, 200);
      const pub = await watcher.next((f) => f?.type === 'pub' && f.channel === channel);
      assert.equal(pub.data.length, data.length);
      await assertStillServes(herald);
    });

    it('accepts and delivers a string of 900,000 characters within the body limit', async () => {
      const channel = await watched('long');
      const data = 'ж'.repeat(450_000);
      assert.equal((await herald.api('POST', '/api/v1/publish', { channel, event: 'e', data })).status, 200);
      assert.equal((await watcher.next((f) => f?.type === 'pub' && f.channel === channel)).data, data);
      await assertStillServes(herald);
    });

    for (const [what, data] of [
      ['an array', Array.from({ length: 1_000_000 }, () => 0)],
      ['a string', 'x'.repeat(2 * BODY_LIMIT)],
    ] as const) {
      it(`answers ${what} over server.bodyLimit with 413 bad_request naming the body`, async () => {
        const channel = await watched('over');
        const response = await herald.api('POST', '/api/v1/publish', { channel, event: 'e', data });
        assert.equal(response.status, 413);
        assert.equal(response.body.error.code, ErrorCode.BadRequest);
        assert.equal(response.body.error.field, 'body');
        await assertNothingKept(channel);
        await assertStillServes(herald);
      });
    }

    it('closes a WebSocket publish over limits.maxMessageBytes with 1009', async () => {
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'bomber' }));
      client.send({ type: 'publish', id: 1, channel: 'c', event: 'e', data: [Array.from({ length: MAX_MESSAGE_BYTES }, () => 0)] });
      assert.equal((await within(client.closed)).code, CloseCode.MessageTooBig);
      await assertStillServes(herald);
    });

    it('refuses keys that would reach Object.prototype with 400, and pollutes nothing', async () => {
      for (const body of ['{"channel":"c","event":"e","__proto__":{"polluted":1}}', '{"channel":"c","event":"e","data":{"constructor":{"prototype":{"polluted":1}}}}']) {
        const response = await herald.api('POST', '/api/v1/publish', body);
        assert.equal(response.status, 400);
        assert.equal(response.body.error.code, ErrorCode.BadRequest);
      }
      assert.equal(({} as { polluted?: unknown }).polluted, undefined);
      await assertStillServes(herald);
    });
  });
});

/** A stock socket.io-client, authenticated, over one transport. */
async function socketIo(herald: HeraldFixture, transport: 'websocket' | 'polling'): Promise<Socket> {
  const socket = io(herald.url, { auth: { token: await herald.token({ sub: 'bomber' }) }, transports: [transport], upgrade: false, reconnection: false });
  await within(new Promise((resolve) => socket.once('connected', resolve)), 3000, 'connected');
  return socket;
}

/** Emits `publish` with a payload given as JSON text, and resolves with its acknowledgement. */
function publishRaw(socket: Socket, payloadJson: string): Promise<any> {
  const id = 900;
  const engine = socket.io.engine as unknown as { write(packet: string): void };
  return within(
    new Promise((resolve) => {
      (socket as unknown as { acks: Record<number, (answer: unknown) => void> }).acks[id] = resolve;
      engine.write(`2${id}["publish",${payloadJson}]`);
    }),
    3000,
    'the acknowledgement',
  );
}
