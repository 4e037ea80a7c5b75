import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '@herald/protocol';
import { connectClient, startHerald, TestClient, waitFor, within, type HeraldFixture } from '@herald/server/testing';
import { assertNoInternals } from './support/no-internals.js';
import { rawRequest } from './support/raw-socket.js';
import { assertStillServes } from './support/still-serves.js';
import { upgradeRequest } from './support/ws-wire.js';

const MAX_MESSAGE_BYTES = 4096;

/** engine.io over a plain WebSocket, packets written by hand; connected to `/`, with a token or not. */
async function rawSocketIo(herald: HeraldFixture, token?: string): Promise<TestClient> {
  const client = new TestClient(`${herald.wsUrl}/socket.io/?EIO=4&transport=websocket`);
  await client.opened();
  client.send(token ? `40${JSON.stringify({ token })}` : '40');
  await client.next((f) => typeof f === 'string' && (token ? f.startsWith('42["connected"') : f.startsWith('40{')));
  return client;
}

/** The payloads of `error` events on `/`. */
const errorEvents = (client: TestClient): any[] =>
  client.frames.filter((f) => typeof f === 'string' && f.startsWith('42["error"')).map((f: string) => JSON.parse(f.slice(2))[1]);

/** Whether the connection closed within `ms`. */
const closesWithin = (client: TestClient, ms: number) => within(client.closed, ms).then(
  () => true,
  () => false,
);

function assertCleanFrames(client: TestClient): void {
  for (const frame of client.frames) assertNoInternals(String(frame), 'a Socket.IO packet');
}

describe('hostile Socket.IO packets', () => {
  let herald: HeraldFixture;
  before(async () => {
    herald = await startHerald({ limits: { maxMessageBytes: MAX_MESSAGE_BYTES } });
  });
  after(() => herald.close());

  for (const auth of ['authenticated', 'not yet authenticated'] as const) {
    describe(`over WebSocket, ${auth}`, () => {
      const open = async () => rawSocketIo(herald, auth === 'authenticated' ? await herald.token({ sub: 'raw' }) : undefined);

      // Documented: an error event {code: bad_request, message: "malformed packet: ..."}, then the connection closes.
      const malformed: [string, (string | Buffer)[]][] = [
        ['invalid JSON', ['42["join-room",{']],
        ['an unknown Socket.IO packet type', ['49["x"]']],
        ['a binary placeholder pointing past its attachments', ['451-["x",{"_placeholder":true,"num":99}]', Buffer.from([1, 2, 3])]],
        ['a binary attachment nothing announced', [Buffer.from('{"type":"ping"}')]],
        ...['disconnect', 'connect', 'connect_error', 'disconnecting', 'newListener', 'removeListener'].map((name): [string, string[]] => [`the reserved event name ${name}`, [`42["${name}"]`]]),
      ];
      for (const [name, packets] of malformed) {
        it(`answers ${name} with bad_request, then closes`, async () => {
          const client = await open();
          for (const packet of packets) client.ws.send(packet, { binary: Buffer.isBuffer(packet) });
          await within(client.closed, 3000, 'the close');
          const [error] = errorEvents(client);
          assert.equal(error?.code, ErrorCode.BadRequest, JSON.stringify(client.frames));
          assert.match(error.message, /^malformed packet: /);
          assertCleanFrames(client);
          await assertStillServes(herald);
        });
      }

      // Documented: a frame that is not an engine.io packet closes the connection without an event.
      for (const [name, packet] of [
        ['an unknown engine.io packet type', '9'],
        ['a letter as the packet type', 'x'],
        ['an empty frame', ''],
      ]) {
        it(`closes for ${name}, without an event`, async () => {
          const client = await open();
          client.send(packet);
          await within(client.closed, 3000, 'the close');
          assert.deepEqual(errorEvents(client), []);
          await assertStillServes(herald);
        });
      }

      it(
        'answers a bare engine.io message packet 4 with a documented error or a clean close',
        async () => {
          const client = await open();
          client.send('4');
          await closesWithin(client, 1000);
          try {
            for (const error of errorEvents(client)) assert.equal(error.code, ErrorCode.BadRequest);
            assertCleanFrames(client);
          } finally {
            client.close();
          }
          await assertStillServes(herald);
        },
      );
    });
  }

  it('treats a placeholder in a plain event as data: published as sent, no attachment looked up', async () => {
    const subscriber = await connectClient(herald.wsUrl, await herald.token({ sub: 'watcher' }));
    await subscriber.request({ type: 'subscribe', channel: 'injected' });
    const client = await rawSocketIo(herald, await herald.token({ sub: 'raw' }));
    const data = { _placeholder: true, num: 0 };
    client.send(`421${JSON.stringify(['publish', { channel: 'injected', event: 'e', data }])}`);
    const ack = await client.next((f) => typeof f === 'string' && f.startsWith('431'));
    assert.match(JSON.parse(ack.slice(3))[0].id, /^[0-9A-Z]{26}$/);
    const pub = await subscriber.next((f) => f?.type === 'pub' && f.channel === 'injected');
    assert.deepEqual(pub.data, data);
    client.close();
    subscriber.close();
    await assertStillServes(herald);
  });

  describe('upgrades engine.io refuses', () => {
    it(
      'refuses an upgrade for an Engine.IO protocol it does not speak with 400, before switching protocols',
      async () => {
        for (const query of ['EIO=3&transport=websocket', 'transport=websocket']) {
          const response = await rawRequest(herald.url, upgradeRequest(`/socket.io/?${query}`));
          assert.equal(response.status, 400, `${query}: ${response.status} ${JSON.stringify(response.body)}`);
        }
        await assertStillServes(herald);
      },
    );

    it(
      'refuses a WebSocket upgrade from an Origin not in server.corsOrigins with 403, as the handshake does',
      async () => {
        await using guarded = await startHerald({ server: { corsOrigins: ['https://allowed.example'] } });
        const response = await rawRequest(guarded.url, upgradeRequest('/socket.io/?EIO=4&transport=websocket', { Origin: 'https://evil.example' }));
        assert.equal(response.status, 403, response.body);
        assert.deepEqual(JSON.parse(response.body), { code: 4, message: 'origin not allowed' });
      },
    );
  });

  describe('over long-polling', () => {
    const base = () => `${herald.url}/socket.io/?EIO=4&transport=polling`;
    /** A polling session connected to `/` with a token, its first packets read. */
    async function pollingSession() {
      const sid = JSON.parse((await (await fetch(base())).text()).slice(1)).sid as string;
      const url = `${base()}&sid=${sid}`;
      const post = (body: string) => fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
      const get = async () => {
        const response = await fetch(url);
        return { status: response.status, body: await response.text() };
      };
      assert.equal((await post(`40${JSON.stringify({ token: await herald.token({ sub: 'poller' }) })}`)).status, 200);
      let polled = '';
      for (let i = 0; i < 5 && !polled.includes('42["connected"'); i++) polled += (await get()).body;
      assert.match(polled, /42\["connected"/);
      /**
       * GETs until the session has ended (engine.io's close packet `1`, or 400 for a session already
       * gone), as socket.io-client polls on. Returns what came before. Left unpolled, engine.io would
       * keep the closing session 30 s waiting for a GET to take its close packet.
       */
      const getUntilClosed = async () => {
        let packets: string[] = [];
        for (let i = 0; i < 5; i++) {
          const { status, body } = await get();
          if (status === 400) return packets;
          packets = [...packets, ...body.split('\x1e')];
          if (packets.includes('1')) return packets.filter((p) => p !== '1');
        }
        assert.fail(`the session did not close; got ${JSON.stringify(packets)}`);
      };
      /** Ends the session whatever its state: takes a close packet the server has queued, or sends one. */
      const close = async () => {
        const response = await fetch(url, { signal: AbortSignal.timeout(300) }).catch(() => undefined);
        const body = await response?.text().catch(() => '');
        if (response?.status === 400 || body?.split('\x1e').includes('1')) return;
        await post('1');
      };
      return { post, get, getUntilClosed, close };
    }

    it('answers a second GET while one is pending with 400, and closes the session cleanly', async () => {
      const session = await pollingSession();
      const first = session.get();
      // The first GET is parked by the server before the second arrives.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = await session.get();
      assert.equal(second.status, 400);
      assertNoInternals(second.body);
      // The pending GET is answered with engine.io's close packet; the session is gone.
      assert.deepEqual(await within(first, 3000, 'the pending GET'), { status: 200, body: '1' });
      const after = await session.get();
      assert.equal(after.status, 400);
      assert.deepEqual(JSON.parse(after.body), { code: 1, message: 'Session ID unknown' });
      await waitFor(() => [...herald.server.node.sessions.values()].every((s) => s.identity.userId !== 'poller'), 'the session closed', 3000);
      await assertStillServes(herald);
    });

    it('answers a POST over limits.maxMessageBytes with 413, and the session goes on', async () => {
      const session = await pollingSession();
      const huge = await session.post(`42${JSON.stringify(['publish', { channel: 'c', event: 'e', data: 'x'.repeat(MAX_MESSAGE_BYTES * 4) }])}`);
      assert.equal(huge.status, 413);
      assertNoInternals(await huge.text());
      assert.equal((await session.post('42["frobnicate"]')).status, 200);
      assert.match((await session.get()).body, /unknown_frame/);
      await session.close();
      await assertStillServes(herald);
    });

    it('answers a POST of many megabytes with 413 without reading it all', async () => {
      const session = await pollingSession();
      const huge = await session.post('4'.repeat(8 * 1024 * 1024)).catch((err: Error) => err);
      // engine.io answers once the limit is passed; fetch may see the answer or the cut.
      if (!(huge instanceof Error)) assert.equal(huge.status, 413);
      await session.close();
      await assertStillServes(herald);
    });

    for (const [name, body] of [
      ['invalid JSON', '42["join-room",{'],
      ['an unknown Socket.IO packet type', '49["x"]'],
      ['a reserved event name', '42["disconnect"]'],
    ]) {
      it(`answers ${name} in a POST with bad_request on the next GET`, async () => {
        const session = await pollingSession();
        assert.equal((await session.post(body)).status, 200);
        // The error event, then the session closes.
        const packets = await session.getUntilClosed();
        const error = JSON.parse(packets.find((p) => p.startsWith('42["error"'))!.slice(2))[1];
        assert.equal(error.code, ErrorCode.BadRequest);
        assert.match(error.message, /^malformed packet: /);
        for (const packet of packets) assertNoInternals(packet);
        await assertStillServes(herald);
      });
    }

    it('closes the session for a POST that is not engine.io packets', async () => {
      const session = await pollingSession();
      // With a GET pending, as socket.io-client keeps one, the close packet has somewhere to go.
      const pending = session.get();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await session.post('x')).status, 200);
      assert.deepEqual(await within(pending, 3000, 'the pending GET'), { status: 200, body: '1' });
      const next = await session.get();
      assert.equal(next.status, 400);
      assertNoInternals(next.body);
      await assertStillServes(herald);
    });

    it(
      'answers a bare packet 4 in a POST with a documented error or a clean close',
      async () => {
        const session = await pollingSession();
        assert.equal((await session.post('4')).status, 200);
        const next = await session.get();
        try {
          for (const packet of next.body.split('\x1e').filter((p) => p.startsWith('42["error"'))) assert.equal(JSON.parse(packet.slice(2))[1].code, ErrorCode.BadRequest);
          assertNoInternals(next.body);
        } finally {
          await session.close();
        }
        await assertStillServes(herald);
      },
    );
  });
});
