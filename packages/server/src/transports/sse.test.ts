import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { EventSource } from 'eventsource';
import { startHerald } from '../testing/herald-fixture.js';
import { SseTestClient } from '../testing/sse-client.js';
import { waitFor } from '../testing/wait.js';
import { connectClient } from '../testing/ws-client.js';

const publish = (herald: Awaited<ReturnType<typeof startHerald>>, channel: string, event: string, data: unknown) =>
  herald.api('POST', '/api/v1/publish', { channel, event, data });

describe('SseTransport', () => {
  describe('GET /sse', () => {
    it('streams publications of several channels with a cursor id', async () => {
      await using herald = await startHerald();
      const token = await herald.token({ sub: 'ann' });
      const sse = new SseTestClient(`${herald.url}/sse?channels=a,b&token=${token}`);
      assert.equal(await sse.opened, 200);
      await sse.next((e) => e.event === 'connected');
      await publish(herald, 'a', 'one', { n: 1 });
      await publish(herald, 'b', 'two', { n: 2 });
      const two = await sse.next((e) => e.event === 'two');
      const one = sse.events.find((e) => e.event === 'one')!;
      assert.deepEqual(JSON.parse(one.data).data, { n: 1 });
      assert.equal(JSON.parse(two.data).channel, 'b');
      const connected = JSON.parse(sse.events.find((e) => e.event === 'connected')!.data);
      assert.equal(two.id, `${JSON.parse(one.data).epoch}:1,${JSON.parse(two.data).epoch}:1;${connected.connectionId}`);
      sse.close();
    });

    it('sends a one-channel stream each publication as one HTTP chunk: its id line, with the connection id, then the event', async () => {
      await using herald = await startHerald();
      const token = await herald.token({ sub: 'ann' });
      const socket = connect(Number(new URL(herald.url).port), '127.0.0.1');
      socket.on('error', () => {});
      let raw = '';
      socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
      socket.write(`GET /sse?channels=a&token=${token} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
      await waitFor(() => raw.includes('event: connected'), 'the opening');
      const { connectionId } = JSON.parse(/event: connected\ndata: (.*)\n/.exec(raw)![1]);
      const before = raw.length;
      await publish(herald, 'a', 'one', { n: 1 });
      await publish(herald, 'a', 'two', { n: 2 });
      await waitFor(() => raw.includes('event: two'), 'both publications');
      // Each chunk is `<size in hex>\r\n<size bytes>\r\n`: the stream's own framing, read back exactly.
      const events: string[] = [];
      for (let rest = raw.slice(before); rest.length > 0; ) {
        const m = /^([0-9a-f]+)\r\n/.exec(rest);
        assert.ok(m, `a chunk size line: ${JSON.stringify(rest.slice(0, 40))}`);
        const size = parseInt(m[1], 16);
        events.push(rest.slice(m[0].length, m[0].length + size));
        assert.equal(rest.slice(m[0].length + size, m[0].length + size + 2), '\r\n');
        rest = rest.slice(m[0].length + size + 2);
      }
      assert.equal(events.length, 2);
      for (const [i, text] of events.entries()) {
        const lines = text.split('\n');
        const body = JSON.parse(lines[2].slice('data: '.length));
        assert.deepEqual(lines, [`id: ${body.epoch}:${i + 1};${connectionId}`, `event: ${i === 0 ? 'one' : 'two'}`, lines[2], '', '']);
        assert.deepEqual(body.data, { n: i + 1 });
      }
      socket.destroy();
    });

    it("shows a stream opened later the signals going on in its channels, without moving its Last-Event-ID", async () => {
      await using herald = await startHerald({ channels: { rules: [{ pattern: 'doc:*', subscribe: 'all', publish: 'all', signals: { 'edit:start': 'edit:end' } }] } });
      const editor = await connectClient(herald.wsUrl, await herald.token({ sub: 'pat', name: 'Pat' }));
      await editor.request({ type: 'publish', channel: 'doc:1', event: 'edit:start', data: { field: 'title' } });
      const sse = new SseTestClient(`${herald.url}/sse?channels=doc:1&token=${await herald.token({ sub: 'ann' })}`);
      await sse.next((e) => e.event === 'connected');
      const opening = sse.lastEventId;
      const start = JSON.parse((await sse.next((e) => e.event === 'edit:start')).data);
      assert.deepEqual({ data: start.data, publisher: start.publisher }, { data: { field: 'title' }, publisher: { userId: 'pat', info: { name: 'Pat' } } });
      assert.equal(sse.lastEventId, opening);
      editor.close();
      sse.close();
    });

    it('resumes exactly from Last-Event-ID: no gap, no duplicate', async () => {
      await using herald = await startHerald();
      const token = await herald.token({ sub: 'ann' });
      const first = new SseTestClient(`${herald.url}/sse?channels=a,b&token=${token}`);
      await first.next((e) => e.event === 'connected');
      for (let i = 1; i <= 3; i++) await publish(herald, i % 2 ? 'a' : 'b', 'n', { i });
      await first.next((e) => e.event === 'n' && JSON.parse(e.data).data.i === 3);
      const cursor = first.lastEventId;
      first.close();
      for (let i = 4; i <= 7; i++) await publish(herald, i % 2 ? 'a' : 'b', 'n', { i });
      const second = new SseTestClient(`${herald.url}/sse?channels=a,b&token=${token}`, { 'last-event-id': cursor });
      await second.next((e) => e.event === 'n' && JSON.parse(e.data).data.i === 7);
      await publish(herald, 'a', 'n', { i: 8 });
      await second.next((e) => e.event === 'n' && JSON.parse(e.data).data.i === 8);
      const seen = second.events.filter((e) => e.event === 'n').map((e) => JSON.parse(e.data).data.i);
      assert.deepEqual(seen.sort((x, y) => x - y), [4, 5, 6, 7, 8]);
      assert.equal(second.events.filter((e) => e.event === 'not_recovered').length, 0);
      second.close();
    });

    it('answers a forged Last-Event-ID with a not_recovered event, then streams from now', async () => {
      await using herald = await startHerald();
      const token = await herald.token({ sub: 'ann' });
      for (const forged of ['garbage', 'x:1', 'AAAA:99999999999999999', 'a:1,b:2,c:3', 'a\u0000:1']) {
        const sse = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}`, { 'last-event-id': encodeURIComponent(forged) });
        assert.equal(await sse.opened, 200);
        const nr = await sse.next((e) => e.event === 'not_recovered');
        assert.ok(['invalid_cursor', 'epoch_changed'].includes(JSON.parse(nr.data).reason), nr.data);
        sse.close();
      }
    });

    it('says plainly when history cannot fill the gap', async () => {
      await using herald = await startHerald({ channels: { rules: [{ pattern: '*', history: { size: 2, ttl: '5m' } }] } });
      const token = await herald.token({ sub: 'ann' });
      const first = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}`);
      await first.next((e) => e.event === 'connected');
      await publish(herald, 'a', 'n', { i: 1 });
      await first.next((e) => e.event === 'n');
      const cursor = first.lastEventId;
      first.close();
      for (let i = 2; i <= 6; i++) await publish(herald, 'a', 'n', { i });
      const second = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}`, { 'last-event-id': cursor });
      const nr = JSON.parse((await second.next((e) => e.event === 'not_recovered')).data);
      assert.equal(nr.reason, 'history_trimmed');
      assert.deepEqual(nr.missing, { from: 2, to: 4 });
      await second.next((e) => e.event === 'n' && JSON.parse(e.data).data.i === 6);
      second.close();
    });

    it('refuses a bad token with 401, no channels with 400, a forbidden channel with an error event', async () => {
      await using herald = await startHerald({ channels: { rules: [{ pattern: 'open' }] } });
      const token = await herald.token({ sub: 'ann' });
      assert.equal(await new SseTestClient(`${herald.url}/sse?channels=open&token=bad`).opened, 401);
      assert.equal(await new SseTestClient(`${herald.url}/sse?token=${token}`).opened, 400);
      const denied = new SseTestClient(`${herald.url}/sse?channels=closed&token=${token}`);
      const error = await denied.next((e) => e.event === 'error');
      assert.equal(JSON.parse(error.data).code, 'forbidden');
      await denied.done;
    });

    it('accepts the token in an Authorization header', async () => {
      await using herald = await startHerald();
      const token = await herald.token({ sub: 'ann' });
      const sse = new SseTestClient(`${herald.url}/sse?channels=a`, { authorization: `Bearer ${token}` });
      assert.equal(await sse.opened, 200);
      await sse.next((e) => e.event === 'connected');
      sse.close();
    });

    it('cannot be made to inject fields through data', async () => {
      await using herald = await startHerald();
      const token = await herald.token({ sub: 'ann' });
      const sse = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}`);
      await sse.next((e) => e.event === 'connected');
      await publish(herald, 'a', 'evil', 'x\n\nevent: forged\ndata: {}\r\nid: 1');
      const evil = await sse.next((e) => e.event === 'evil');
      assert.equal(JSON.parse(evil.data).data, 'x\n\nevent: forged\ndata: {}\r\nid: 1');
      assert.equal(sse.events.filter((e) => e.event === 'forged').length, 0);
      const refused = await publish(herald, 'a', 'bad\nevent', {});
      assert.equal(refused.status, 400);
      sse.close();
    });

    it('sends comment keep-alives', async () => {
      await using herald = await startHerald({ heartbeat: { interval: 100, timeout: 100 } });
      const token = await herald.token({ sub: 'ann' });
      const sse = new SseTestClient(`${herald.url}/sse?channels=a&token=${token}`);
      await sse.next((e) => e.event === 'connected');
      for (let i = 0; i < 50 && sse.comments.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(sse.comments.includes('keep-alive'));
      sse.close();
    });
  });

  describe('routes', () => {
    const routes = [{ path: '/api/v1/proposals/{id}/events', channel: 'proposal:{id}', format: 'data' as const }];

    it('serves a route as SSE with the bare data, and resumes with Last-Event-ID', async () => {
      await using herald = await startHerald({ routes });
      const token = await herald.token({ sub: 'ann' });
      const url = `${herald.url}/api/v1/proposals/42/events?token=${token}`;
      const first = new SseTestClient(url);
      assert.equal(await first.opened, 200);
      await publish(herald, 'proposal:42', 'validation_start', { type: 'validation_start', proposal_id: 42 });
      const start = await first.next((e) => e.event === 'validation_start');
      assert.deepEqual(JSON.parse(start.data), { type: 'validation_start', proposal_id: 42 });
      const cursor = first.lastEventId;
      first.close();
      await publish(herald, 'proposal:42', 'output', { type: 'output', line: 'ok', stream: 'stdout' });
      const second = new SseTestClient(url, { 'last-event-id': cursor });
      const output = await second.next((e) => e.event === 'output');
      assert.deepEqual(JSON.parse(output.data), { type: 'output', line: 'ok', stream: 'stdout' });
      assert.equal(second.events.filter((e) => e.event === 'validation_start').length, 0);
      second.close();
    });

    it('sends user:online to /sse streams but not to data routes', async () => {
      await using herald = await startHerald({ routes });
      const token = await herald.token({ sub: 'ann' });
      const data = new SseTestClient(`${herald.url}/api/v1/proposals/1/events?token=${token}`);
      const envelope = new SseTestClient(`${herald.url}/sse?channels=proposal:1&token=${token}`);
      await envelope.next((e) => e.event === 'connected');
      // A data stream has no connected event; its first id (the cursor) says it is live.
      await waitFor(() => data.lastEventId !== '', 'data stream live', 3000);
      const bob = new SseTestClient(`${herald.url}/sse?channels=x&token=${await herald.token({ sub: 'bob' })}`);
      assert.equal(JSON.parse((await envelope.next((e) => e.event === 'user:online')).data).data.userId, 'bob');
      await publish(herald, 'proposal:1', 'output', { n: 1 });
      await data.next((e) => e.event === 'output');
      // Only the app's events, after the cursor that opens the stream (no listener of the app's sees it).
      assert.deepEqual(data.events.map((e) => e.event), ['herald:cursor', 'output']);
      for (const client of [data, envelope, bob]) client.close();
    });

    it('asks for Accept: text/event-stream on a route', async () => {
      await using herald = await startHerald({ routes });
      const token = await herald.token({ sub: 'ann' });
      const response = await fetch(`${herald.url}/api/v1/proposals/42/events?token=${token}`, { headers: { accept: 'application/json' } });
      assert.equal(response.status, 406);
    });

    it('refuses a stream past the route\'s maxConnections with 503, and takes one again when a stream ends', async () => {
      await using herald = await startHerald({ routes: [{ ...routes[0], maxConnections: 2 }] });
      const url = async (sub: string) => `${herald.url}/api/v1/proposals/9/events?token=${await herald.token({ sub })}`;
      const first = new SseTestClient(await url('ann'));
      const second = new SseTestClient(await url('bob'));
      assert.deepEqual([await first.opened, await second.opened], [200, 200]);
      await waitFor(() => herald.server.node.hub.localSubscribers('default', 'proposal:9') === 2, 'two streams subscribed', 3000);
      const refused = await fetch(await url('cid'), { headers: { accept: 'text/event-stream' } });
      assert.equal(refused.status, 503);
      assert.match(((await refused.json()) as { error: { message: string } }).error.message, /proposal:9 has its maximum of 2 connections/);
      // Another project of the same route has room of its own.
      const other = new SseTestClient(`${herald.url}/api/v1/proposals/10/events?token=${await herald.token({ sub: 'cid' })}`);
      assert.equal(await other.opened, 200);
      first.close();
      await waitFor(() => herald.server.node.hub.localSubscribers('default', 'proposal:9') === 1, 'the first stream gone', 3000);
      const third = new SseTestClient(await url('cid'));
      assert.equal(await third.opened, 200);
      for (const s of [second, other, third]) s.close();
    });

    it('works with the eventsource package, which reconnects with Last-Event-ID by itself', async () => {
      await using herald = await startHerald({ routes });
      const token = await herald.token({ sub: 'ann' });
      const source = new EventSource(`${herald.url}/api/v1/proposals/7/events?token=${token}`);
      const got: number[] = [];
      source.addEventListener('output', (e) => got.push(JSON.parse(e.data).n));
      await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
      await publish(herald, 'proposal:7', 'output', { n: 1 });
      await waitFor(() => got.length >= 1, 'the first event');
      // Cut every stream of the user; the client reconnects with its Last-Event-ID.
      await herald.api('POST', '/api/v1/users/ann/disconnect', {});
      await publish(herald, 'proposal:7', 'output', { n: 2 });
      await publish(herald, 'proposal:7', 'output', { n: 3 });
      for (let i = 0; i < 300 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      source.close();
      assert.deepEqual(got, [1, 2, 3]);
    });
  });
});
