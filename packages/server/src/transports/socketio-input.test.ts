import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { io } from 'socket.io-client';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { waitFor, within } from '../testing/wait.js';
import { TestClient } from '../testing/ws-client.js';

/** A plain WebSocket speaking engine.io / socket.io frames by hand, connected to `/` with a token. */
async function rawSocket(herald: HeraldFixture): Promise<TestClient> {
  const client = new TestClient(`${herald.wsUrl}/socket.io/?EIO=4&transport=websocket`);
  await client.opened();
  client.send(`40${JSON.stringify({ token: await herald.token({ sub: 'raw' }) })}`);
  await client.next((f) => typeof f === 'string' && f.startsWith('42["connected"'));
  return client;
}

/** The `error` events a raw socket received on `/`. */
const errorEvents = (client: TestClient): any[] =>
  client.frames.filter((f) => typeof f === 'string' && f.startsWith('42["error"')).map((f: string) => JSON.parse(f.slice(2))[1]);

/** A stock client can still connect, join and receive. */
async function stillServes(herald: HeraldFixture): Promise<void> {
  const socket = io(herald.url, { auth: { token: await herald.token({ sub: 'probe' }) }, transports: ['websocket'], reconnection: false });
  try {
    await within(new Promise((resolve) => socket.once('connected', resolve)), 3000, 'connected');
    assert.equal((await socket.emitWithAck('join-room', { room: 'alive' })).ok, true);
    const got = new Promise((resolve) => socket.once('pulse', resolve));
    await herald.api('POST', '/api/v1/publish', { channel: 'alive', event: 'pulse', data: 1 });
    assert.equal(await within(got, 3000, 'pulse'), 1);
  } finally {
    socket.close();
  }
}

describe('SocketIoTransport bad input', () => {
  let herald: HeraldFixture;
  before(async () => {
    herald = await startHerald({ limits: { maxMessageBytes: 4096 } });
  });
  after(() => herald.close());

  describe('packets socket.io cannot decode: an error event, then the connection closes', () => {
    const cases: [string, (string | Buffer)[], RegExp][] = [
      ['an unknown packet type', ['49["x"]'], /unknown packet type/],
      ['an engine.io message with no Socket.IO packet in it', ['4'], /expected a Socket.IO packet/],
      ['invalid JSON', ['42["join-room",{'], /expected a Socket.IO packet/],
      ['an event that is not an array', ['42{"event":"x"}'], /expected a Socket.IO packet/],
      ['an event without a name', ['42[]'], /expected a Socket.IO packet/],
      ['an object as the event name', ['42[{}]'], /expected a Socket.IO packet/],
      ['null as the event name', ['42[null]'], /expected a Socket.IO packet/],
      ...['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].map(
        (name): [string, string[], RegExp] => [`the reserved event name ${name}`, [`42["${name}"]`], /expected a Socket.IO packet/],
      ),
      ['too many binary attachments', ['45999-["x"]'], /binary attachments do not match/],
      ['a binary frame nothing waits for', [Buffer.from([1, 2, 3])], /binary attachments do not match/],
      ['text where an attachment is due', ['451-["x",{"_placeholder":true,"num":0}]', '42["y"]'], /binary attachments do not match/],
      ['an attachment placeholder out of range', ['451-["x",{"_placeholder":true,"num":7}]', Buffer.from([1])], /binary attachments do not match/],
    ];
    for (const [name, frames, message] of cases) {
      it(`answers ${name}`, async () => {
        const client = await rawSocket(herald);
        for (const frame of frames) client.ws.send(frame, { binary: Buffer.isBuffer(frame) });
        await within(client.closed);
        const [error] = errorEvents(client);
        assert.equal(error?.code, ErrorCode.BadRequest, JSON.stringify(client.frames));
        assert.match(error.message, /^malformed packet: /);
        assert.match(error.message, message);
        // The decoder's own words (`Cannot read properties of undefined`, ...) stay in the log.
        assert.doesNotMatch(error.message, /Cannot read|undefined|base64|invalid payload/);
      });
    }

    it('releases the sessions and keeps serving', async () => {
      await waitFor(() => herald.server.node.sessions.size === 0, 'no sessions left', 3000);
      await stillServes(herald);
    });
  });

  describe('event names', () => {
    it('answers non-string and unknown event names with unknown_frame and stays connected', async () => {
      const client = await rawSocket(herald);
      for (const frame of ['42[123]', '42[1.5,{}]', '42["__proto__",{}]', '42["constructor"]', '42["error",{"x":1}]']) client.send(frame);
      await waitFor(() => errorEvents(client).length === 5, 'five error events', 3000);
      assert.deepEqual(errorEvents(client).map((e) => [e.code, e.event]), [
        [ErrorCode.UnknownFrame, '123'],
        [ErrorCode.UnknownFrame, '1.5'],
        [ErrorCode.UnknownFrame, '__proto__'],
        [ErrorCode.UnknownFrame, 'constructor'],
        [ErrorCode.UnknownFrame, 'error'],
      ]);
      // Acknowledged requests still work on the same connection.
      client.send('421["join-room",{"room":"news"}]');
      const ack = await client.next((f) => typeof f === 'string' && f.startsWith('431'));
      assert.equal(JSON.parse(ack.slice(3))[0].ok, true);
      client.close();
    });
  });

  describe('namespaces', () => {
    it('refuses a connect to an unknown namespace with Invalid namespace, and keeps the others', async () => {
      const client = await rawSocket(herald);
      client.send(`40/nope,${JSON.stringify({ token: await herald.token({ sub: 'raw' }) })}`);
      const refused = await client.next((f) => typeof f === 'string' && f.startsWith('44/nope,'));
      assert.deepEqual(JSON.parse(refused.slice('44/nope,'.length)), { message: 'Invalid namespace' });
      client.send('421["join-room",{"room":"news"}]');
      await client.next((f) => typeof f === 'string' && f.startsWith('431'));
      client.close();
    });

    it('closes a connection that sends to a namespace it never joined', async () => {
      const client = await rawSocket(herald);
      client.send('42/nope,["x"]');
      await within(client.closed);
      await stillServes(herald);
    });
  });

  describe('oversize messages', () => {
    it('answers a long-polling POST over limits.maxMessageBytes with 413, and the session goes on', async () => {
      const base = `${herald.url}/socket.io/?EIO=4&transport=polling`;
      const handshake = await (await fetch(base)).text();
      const sid = JSON.parse(handshake.slice(1)).sid as string;
      const post = (body: string) => fetch(`${base}&sid=${sid}`, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
      assert.equal((await post(`40${JSON.stringify({ token: await herald.token({ sub: 'poll' }) })}`)).status, 200);
      let polled = '';
      while (!polled.includes('42["connected"')) polled += await (await fetch(`${base}&sid=${sid}`)).text();
      const huge = await post(`42["publish",${JSON.stringify({ channel: 'c', event: 'e', data: 'x'.repeat(5000) })}]`);
      assert.equal(huge.status, 413);
      assert.equal((await post('42["frobnicate"]')).status, 200);
      assert.match(await (await fetch(`${base}&sid=${sid}`)).text(), /unknown_frame/);
      await post('1');
    });

    it('closes a WebSocket message over limits.maxMessageBytes with 1009', async () => {
      const client = await rawSocket(herald);
      client.send(`42["publish",${JSON.stringify({ channel: 'c', event: 'e', data: 'x'.repeat(5000) })}]`);
      assert.equal((await within(client.closed)).code, CloseCode.MessageTooBig);
      await stillServes(herald);
    });
  });

  describe('authentication', () => {
    it('opens one session for two authenticate events sent at once', async () => {
      const socket = io(herald.url, { transports: ['websocket'], reconnection: false });
      await within(new Promise<void>((resolve) => socket.once('connect', () => resolve())), 3000, 'connect');
      const token = await herald.token({ sub: 'twice' });
      const errors: any[] = [];
      socket.on('error', (e) => errors.push(e));
      const answers = await Promise.all([socket.emitWithAck('authenticate', { token }), socket.emitWithAck('authenticate', { token })]);
      assert.deepEqual(answers.map((a) => a.ok ?? a.error.message).sort(), ['already authenticated', true].sort());
      assert.equal([...herald.server.node.sessions.values()].filter((s) => s.identity.userId === 'twice').length, 1);
      socket.close();
      await waitFor(() => ![...herald.server.node.sessions.values()].some((s) => s.identity.userId === 'twice'), 'session released', 3000);
    });

    it('applies the message rate before authentication too', async () => {
      await using limited = await startHerald({ limits: { messageRate: { perSecond: 1, burst: 5 } } });
      const socket = io(limited.url, { transports: ['websocket'], reconnection: false });
      await within(new Promise<void>((resolve) => socket.once('connect', () => resolve())), 3000, 'connect');
      const closed = new Promise<any>((resolve) => socket.on('error', (e) => e.code === CloseCode.RateLimited && resolve(e)));
      for (let i = 0; i < 20; i++) socket.emit('join-room', { room: 'x' });
      assert.match((await within(closed, 3000, 'rate limit')).message, /too many/);
      socket.close();
    });
  });
});
