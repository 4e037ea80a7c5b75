import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { waitFor } from '../testing/wait.js';
import { startWebhookReceiver, TEST_WEBHOOK_SECRET, type WebhookReceiver } from '../testing/webhook-receiver.js';
import { connectClient } from '../testing/ws-client.js';
import type { PublishProxyConfig } from './config.js';

/** The backend's rule in these tests: `bad` words refused, `shout` rewritten upper-case, `slow` answered after 2.5 s, the rest allowed. */
function backend(receiver: WebhookReceiver): void {
  receiver.mode = (w) => {
    const text = String(w.data.data?.text ?? '');
    if (text.includes('bad')) return { status: 200, body: { action: 'refuse', reason: 'no bad words\nplease' } };
    if (text.startsWith('shout')) return { status: 200, body: { action: 'rewrite', data: { text: text.toUpperCase(), checked: true } } };
    if (text === 'slow') return { status: 200, body: { action: 'allow' }, delayMs: 2500 };
    if (text === 'broken') return { status: 500 };
    return { status: 200, body: { action: 'allow' } };
  };
}

async function heraldWithProxy(receiver: WebhookReceiver, proxy: Partial<PublishProxyConfig> = {}): Promise<HeraldFixture> {
  return startHerald({
    presence: { userEvents: false },
    webhooks: { secret: TEST_WEBHOOK_SECRET, publishProxies: [{ url: receiver.url, channels: ['chat:*'], timeout: 1000, ...proxy }] },
  });
}

/** A native client and a reader on `chat:1`; publish answers the reply frame. */
async function nativeClients(herald: HeraldFixture) {
  const writer = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', name: 'Ann' }));
  const reader = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
  await reader.request({ type: 'subscribe', channel: 'chat:1' });
  const publish = async (text: string, channel = 'chat:1') => (await writer.request({ type: 'publish', channel, event: 'msg', data: { text } })) as { result?: { id: string }; error?: { code: string; message: string } };
  return { writer, reader, publish, received: () => reader.pubs('chat:1').map((p) => p.data) };
}

describe('PublishProxy', () => {
  it('over the native WebSocket: the backend allows, refuses with a reason the client sees, or rewrites before delivery', async () => {
    await using receiver = await startWebhookReceiver();
    backend(receiver);
    await using herald = await heraldWithProxy(receiver);
    const { writer, publish, received } = await nativeClients(herald);

    assert.ok((await publish('hello')).result?.id);
    const refused = await publish('a bad word');
    assert.deepEqual(refused.error, { code: 'forbidden', message: 'refused by the backend: no bad words please' });
    assert.ok((await publish('shout it')).result?.id);
    await waitFor(() => received().length === 2, 'two publications delivered');
    assert.deepEqual(received(), [{ text: 'hello' }, { text: 'SHOUT IT', checked: true }]);

    // The backend saw each request signed, with who publishes where.
    const check = receiver.attempts[0];
    assert.equal(check.type, 'client.publish');
    const [session] = [...herald.server.node.sessions.values()].filter((s) => s.identity.userId === 'ann');
    assert.deepEqual(check.data, { ...session.ref(), info: { name: 'Ann' }, channel: 'chat:1', event: 'msg', data: { text: 'hello' } });
    assert.deepEqual(receiver.rejected, []);

    // Channels no proxy covers are not checked.
    const before = receiver.attempts.length;
    assert.ok((await publish('a bad word', 'news')).result?.id);
    assert.equal(receiver.attempts.length, before);
    const stats = (await herald.api('GET', '/api/v1/stats/webhooks')).body.publishProxies;
    assert.deepEqual(stats, [{ url: receiver.url, allowed: 1, refused: 1, rewritten: 1, failed: 0 }]);
    assert.match((await herald.api('GET', '/metrics')).body, /herald_webhooks_publish_checks_total\{outcome="refused"\} 1\n/);
    writer.close();
  });

  it('over Socket.IO: the ack carries the refusal, rewritten data reaches the room', async () => {
    await using receiver = await startWebhookReceiver();
    backend(receiver);
    await using herald = await heraldWithProxy(receiver);
    const connect = async (sub: string): Promise<Socket> => {
      const socket = io(herald.url, { auth: { token: await herald.token({ sub }) }, transports: ['websocket'] });
      await new Promise((resolve) => socket.once('connected', resolve));
      return socket;
    };
    const ann = await connect('ann');
    const bob = await connect('bob');
    const seen: unknown[] = [];
    bob.on('msg', (data) => seen.push(data));
    await bob.emitWithAck('join-room', { room: 'chat:1' });
    const refused = await ann.emitWithAck('publish', { channel: 'chat:1', event: 'msg', data: { text: 'bad' } });
    assert.deepEqual(refused, { error: { code: 'forbidden', message: 'refused by the backend: no bad words please', event: 'publish', room: 'chat:1' } });
    const rewritten = await ann.emitWithAck('publish', { channel: 'chat:1', event: 'msg', data: { text: 'shout' } });
    assert.ok(rewritten.id);
    await waitFor(() => seen.length === 1, 'the rewritten publication');
    assert.deepEqual(seen, [{ text: 'SHOUT', checked: true, publisher: { userId: 'ann' } }]);
    ann.close();
    bob.close();
  });

  it('applies onFailure when the backend is too slow, fails or answers nonsense: refuse (unavailable, retry) or allow', async () => {
    await using receiver = await startWebhookReceiver();
    backend(receiver);
    await using strict = await heraldWithProxy(receiver);
    const { publish, received } = await nativeClients(strict);
    const started = Date.now();
    const slow = await publish('slow');
    assert.deepEqual(slow.error, { code: 'unavailable', message: 'the publication could not be checked now; try again' });
    assert.ok(Date.now() - started < 2000, 'answered at the proxy timeout, not when the backend got round to it');
    assert.equal((await publish('broken')).error?.code, 'unavailable');
    receiver.mode = () => ({ status: 200, body: { verdict: 'yes' } });
    assert.equal((await publish('nonsense')).error?.code, 'unavailable');
    assert.deepEqual(received(), []);
    assert.equal((await strict.api('GET', '/api/v1/stats/webhooks')).body.publishProxies[0].failed, 3);

    backend(receiver);
    await using lenient = await heraldWithProxy(receiver, { onFailure: 'allow' });
    const open = await nativeClients(lenient);
    assert.ok((await open.publish('slow')).result?.id);
    assert.ok((await open.publish('broken')).result?.id);
    await waitFor(() => open.received().length === 2, 'both allowed');
  });

  it('refuses a rewrite the data limits would refuse from a client', async () => {
    await using receiver = await startWebhookReceiver();
    receiver.mode = () => ({ status: 200, body: { action: 'rewrite', data: { text: 'x'.repeat(4096) } } });
    await using herald = await startHerald({
      limits: { maxDataBytes: 1024 },
      webhooks: { secret: TEST_WEBHOOK_SECRET, publishProxies: [{ url: receiver.url, timeout: 1000 }] },
    });
    const { publish, received } = await nativeClients(herald);
    assert.equal((await publish('hi')).error?.code, 'unavailable');
    assert.deepEqual(received(), []);
  });
});
