import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { startHerald } from '../testing/herald-fixture.js';
import { within } from '../testing/wait.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

describe('WebSocketTransport bad input', () => {
  describe('frames that are not Herald frames', () => {
    for (const [name, text] of [
      ['invalid JSON', '{"type":"subscribe",'],
      ['a JSON array', '[{"type":"ping"}]'],
      ['a JSON number', '42'],
      ['a JSON string', '"subscribe"'],
      ['JSON null', 'null'],
    ] as const) {
      it(`closes with 4000 for ${name}`, async () => {
        await using herald = await startHerald();
        const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
        client.send(text);
        const { code, reason } = await within(client.closed);
        assert.equal(code, CloseCode.BadRequest);
        assert.match(reason, /JSON/);
      });
    }

    it('closes with 4000 for a binary frame', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      client.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
      const { code, reason } = await within(client.closed);
      assert.equal(code, CloseCode.BadRequest);
      assert.match(reason, /binary/);
    });

    it('closes with 1009 for a message over limits.maxMessageBytes', async () => {
      await using herald = await startHerald({ limits: { maxMessageBytes: 4096 } });
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      client.send({ type: 'publish', channel: 'c', event: 'e', data: 'x'.repeat(5000) });
      assert.equal((await within(client.closed)).code, CloseCode.MessageTooBig);
    });

    it('closes with 1008 for a message in more fragments than limits.maxFragments', async () => {
      await using herald = await startHerald({ limits: { maxFragments: 4 } });
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      const parts = ['{"type":', '"ping",', '"id"', ':', '1', '}'];
      parts.forEach((part, i) => client.ws.send(part, { fin: i === parts.length - 1 }));
      assert.equal((await within(client.closed)).code, 1008);
    });

    it('accepts a message in fragments within the limit', async () => {
      await using herald = await startHerald({ limits: { maxFragments: 4 } });
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      const parts = ['{"type":"ping",', '"id":5}'];
      parts.forEach((part, i) => client.ws.send(part, { fin: i === parts.length - 1 }));
      assert.deepEqual(await client.next((f) => f.type === 'pong'), { type: 'pong', id: 5 });
      client.close();
    });
  });

  describe('frames the protocol does not know', () => {
    it('answers an unknown type with unknown_frame and stays open', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      const reply = await client.request({ type: 'join-room', room: 'x' });
      assert.equal(reply.error.code, ErrorCode.UnknownFrame);
      assert.equal(reply.error.field, 'type');
      assert.match(reply.error.message, /join-room/);
      client.send({ type: 'dance' });
      const error = await client.next((f) => f.type === 'error');
      assert.equal(error.code, ErrorCode.UnknownFrame);
      client.send({ noType: true });
      await client.next((f) => f.type === 'error' && f !== error);
      const ok = await client.request({ type: 'subscribe', channel: 'still-open' });
      assert.equal(ok.result.channel, 'still-open');
      client.close();
    });

    it('answers missing or wrong fields with bad_request naming the field', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      const cases: [Record<string, unknown>, string][] = [
        [{ type: 'subscribe' }, 'channel'],
        [{ type: 'subscribe', channel: 5 }, 'channel'],
        [{ type: 'publish', channel: 'c' }, 'event'],
        [{ type: 'subscribe', channel: 'c', since: { offset: -1, epoch: 'e' } }, 'since'],
        [{ type: 'history', channel: 'c', limit: 'all' }, 'limit'],
        [{ type: 'refresh' }, 'token'],
      ];
      for (const [frame, field] of cases) {
        const reply = await client.request(frame);
        assert.equal(reply.error?.code, ErrorCode.BadRequest, JSON.stringify(frame));
        assert.ok(reply.error.field.startsWith(field), `${JSON.stringify(frame)} → ${reply.error.field}`);
        assert.match(reply.error.message, new RegExp(`^${field}`));
      }
      // Without an id the answer is an error frame.
      client.send({ type: 'unsubscribe' });
      const error = await client.next((f) => f.type === 'error');
      assert.deepEqual([error.code, error.field], [ErrorCode.BadRequest, 'channel']);
      client.close();
    });

    it('answers a bad event name with bad_request naming event', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      for (const event of ['', 'a\nb', 'x'.repeat(129)]) {
        const reply = await client.request({ type: 'publish', channel: 'c', event });
        assert.deepEqual([reply.error.code, reply.error.field], [ErrorCode.BadRequest, 'event'], JSON.stringify(event));
      }
      client.close();
    });
  });

  describe('channel names', () => {
    const bad: [string, string, RegExp][] = [
      ['empty', '', /empty/],
      ['with a newline', 'news\n', /control/],
      ['with a NUL', 'a\u0000b', /control/],
      ['with DEL', 'a\u007fb', /control/],
      ['over 255 characters', 'x'.repeat(256), /longer than 255/],
      ['starting with $', '$tenant', /reserved/],
    ];
    for (const [name, channel, message] of bad) {
      it(`answers a channel name ${name} with invalid_channel`, async () => {
        await using herald = await startHerald();
        const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
        for (const type of ['subscribe', 'publish', 'presence', 'history']) {
          const reply = await client.request({ type, channel, event: 'e' });
          assert.equal(reply.error?.code, ErrorCode.InvalidChannel, `${type}: ${JSON.stringify(reply)}`);
          assert.equal(reply.error.field, 'channel');
          assert.match(reply.error.message, message);
        }
        client.close();
      });
    }

    it('accepts a name of exactly 255 characters and any Unicode', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      assert.ok((await client.request({ type: 'subscribe', channel: 'x'.repeat(255) })).result);
      assert.ok((await client.request({ type: 'subscribe', channel: 'city:Саратов 🚕' })).result);
      client.close();
    });
  });

  describe('tenants', () => {
    it('keeps tenants apart on the same channel name', async () => {
      await using herald = await startHerald();
      const a = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1', tenant: 'acme' }));
      const b = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1', tenant: 'globex' }));
      await a.request({ type: 'subscribe', channel: 'orders' });
      await b.request({ type: 'subscribe', channel: 'orders' });
      // A channel name that spells the other tenant's key is just a name in one's own tenant.
      await a.request({ type: 'subscribe', channel: 'globex:orders' });
      const fromApi = await herald.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'orders', event: 'api', data: 1 });
      assert.equal(fromApi.status, 200);
      const fromClient = await b.request({ type: 'publish', channel: 'orders', event: 'client', data: 2 });
      assert.equal(fromClient.result.offset, 1, 'each tenant has its own stream');
      await a.next((f) => f.type === 'pub' && f.event === 'api');
      await b.next((f) => f.type === 'pub' && f.event === 'client');
      // A marker published after both proves nothing else is on its way.
      await herald.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'orders', event: 'mark' });
      await herald.api('POST', '/api/v1/publish', { tenant: 'globex', channel: 'orders', event: 'mark' });
      await a.next((f) => f.type === 'pub' && f.event === 'mark');
      await b.next((f) => f.type === 'pub' && f.event === 'mark');
      assert.deepEqual(a.pubs().map((p) => `${p.channel}/${p.event}`).filter((s) => !s.startsWith('$')), ['orders/api', 'orders/mark']);
      assert.deepEqual(b.pubs().map((p) => `${p.channel}/${p.event}`).filter((s) => !s.startsWith('$')), ['orders/client', 'orders/mark']);
      // Presence and history are per tenant too.
      const presence = await b.request({ type: 'presence', channel: 'orders' });
      assert.deepEqual(presence.result.users.map((u: { userId: string }) => u.userId), ['u1']);
      assert.equal(presence.result.users[0].connections, 1);
      const history = await a.request({ type: 'history', channel: 'orders' });
      assert.deepEqual(history.result.publications.map((p: { event: string }) => p.event), ['api', 'mark']);
      a.close();
      b.close();
    });
  });

  describe('message flood', () => {
    it('closes a client flooding before it authenticates with 4007', async () => {
      await using herald = await startHerald({ limits: { messageRate: { perSecond: 20, burst: 40 } } });
      const flooder = new TestClient(`${herald.wsUrl}/ws`);
      await flooder.opened();
      for (let i = 0; i < 500; i++) flooder.send({ type: 'ping', id: i });
      assert.equal((await within(flooder.closed)).code, CloseCode.RateLimited);
      assert.ok(flooder.frames.filter((f) => f.type === 'pong').length <= 41);
    });

    it('closes a flooding client with 4007; others keep working and the server stays up', async () => {
      await using herald = await startHerald({ limits: { messageRate: { perSecond: 20, burst: 40 } } });
      const flooder = await connectClient(herald.wsUrl, await herald.token({ sub: 'flood' }));
      const bystander = await connectClient(herald.wsUrl, await herald.token({ sub: 'calm' }));
      await bystander.request({ type: 'subscribe', channel: 'news' });
      for (let i = 0; i < 500; i++) flooder.send({ type: 'ping', id: i });
      const { code, reason } = await within(flooder.closed);
      assert.equal(code, CloseCode.RateLimited);
      assert.match(reason, /too many/);
      assert.ok(flooder.frames.filter((f) => f.type === 'pong').length <= 41);
      // One denial, not one per frame that was still arriving.
      const denials = await herald.server.metrics.denialsTotal.get();
      assert.equal(denials.values.find((v) => v.labels.reason === 'rate_limited')?.value, 1);
      await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'after', data: 1 });
      await bystander.next((f) => f.type === 'pub' && f.event === 'after');
      assert.equal((await herald.api('GET', '/health')).status, 200);
      bystander.close();
    });
  });
});
