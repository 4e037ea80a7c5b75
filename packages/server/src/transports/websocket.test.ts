import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { startHerald } from '../testing/herald-fixture.js';
import { refusedStatus } from '../testing/upgrade-status.js';
import { within } from '../testing/wait.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

describe('WebSocketTransport', () => {
  describe('#publish', () => {
    it('delivers an API publication to a subscriber as a pub frame', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
      const reply = await client.request({ type: 'subscribe', channel: 'news' });
      assert.equal(reply.result.offset, 0);
      const published = await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'hello', data: { a: 1 } });
      assert.equal(published.status, 200);
      const pub = await client.next((f) => f.type === 'pub' && f.channel === 'news');
      assert.deepEqual({ id: pub.id, event: pub.event, data: pub.data, offset: pub.offset }, { id: published.body.id, event: 'hello', data: { a: 1 }, offset: 1 });
      assert.equal(pub.epoch, reply.result.epoch);
      assert.equal(typeof pub.ts, 'number');
      client.close();
    });

    it('delivers one publication to several channels with one id', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
      await client.request({ type: 'subscribe', channel: 'a' });
      await client.request({ type: 'subscribe', channel: 'b' });
      await herald.api('POST', '/api/v1/publish', { channels: ['a', 'b'], event: 'both' });
      const [a, b] = await Promise.all([client.next((f) => f.channel === 'a'), client.next((f) => f.channel === 'b')]);
      assert.equal(a.id, b.id);
      client.close();
    });
  });

  describe('#unsubscribe', () => {
    it('stops delivery on that channel only', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
      await client.request({ type: 'subscribe', channel: 'a' });
      await client.request({ type: 'subscribe', channel: 'b' });
      assert.deepEqual((await client.request({ type: 'unsubscribe', channel: 'a' })).result, {});
      await herald.api('POST', '/api/v1/publish', { channel: 'a', event: 'gone' });
      await herald.api('POST', '/api/v1/publish', { channel: 'b', event: 'mark' });
      await client.next((f) => f.type === 'pub' && f.channel === 'b');
      assert.equal(client.pubs('a').length, 0);
      client.close();
    });
  });

  describe('#close (graceful shutdown)', () => {
    it('closes every client, authenticated or not, with 1012', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
      const pending = new TestClient(`${herald.wsUrl}/ws`);
      await pending.opened();
      const closing = herald.server.close();
      const [closed, pendingClosed] = await within(Promise.all([client.closed, pending.closed]));
      assert.equal(closed.code, CloseCode.ServiceRestart);
      assert.equal(pendingClosed.code, CloseCode.ServiceRestart);
      await closing;
      assert.equal(herald.server.node.sessions.size, 0);
    });

    it('refuses an upgrade with 503 while shutting down', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice' }));
      // The hub drains before the HTTP server stops listening; an upgrade in between is refused.
      await herald.server.node.shutdown();
      assert.equal(await refusedStatus(`${herald.wsUrl}/ws?token=${await herald.token({ sub: 'bob' })}`), 503);
      assert.equal((await within(client.closed)).code, CloseCode.ServiceRestart);
    });
  });
});
