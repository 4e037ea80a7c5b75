import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { LifecycleEvents } from '../core/events.js';
import { startHerald, TEST_API_KEY, type HeraldFixture } from '../testing/herald-fixture.js';
import { waitFor } from '../testing/wait.js';
import { startWebhookReceiver, TEST_WEBHOOK_SECRET } from '../testing/webhook-receiver.js';
import { connectClient, TestClient } from '../testing/ws-client.js';
import type { WebhookEndpointConfig } from './config.js';

type Endpoint = Partial<WebhookEndpointConfig> & { url: string };

/** Quick retries for tests: 50 ms doubling to 200 ms, given up after `giveUpAfter`. */
const fast = (giveUpAfter = 5000) => ({ initialDelay: 50, maxDelay: 200, giveUpAfter });

async function heraldWith(endpoints: Endpoint[], extra: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Promise<HeraldFixture> {
  return startHerald({
    ...config,
    presence: { userEvents: false },
    webhooks: { secret: TEST_WEBHOOK_SECRET, endpoints: endpoints.map((e) => ({ retry: fast(), ...e })), ...extra },
  } as never);
}

function webhookEvents(herald: HeraldFixture): LifecycleEvents['webhook'][] {
  const seen: LifecycleEvents['webhook'][] = [];
  herald.server.node.events.on('webhook', (e) => seen.push(e));
  return seen;
}

describe('Webhooks', () => {
  it('sends every lifecycle event of a connection, signed so that the standardwebhooks verifier accepts it', async () => {
    await using receiver = await startWebhookReceiver();
    await using herald = await heraldWith([{ url: receiver.url }]);
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', name: 'Ann' }));
    const connected = await receiver.waitFor((w) => w.type === 'client.connected', 'client.connected');
    const { connectionId } = connected.data;
    assert.deepEqual(connected.data, { connectionId, tenant: 'default', userId: 'ann', transport: 'websocket' });
    assert.match(connected.id, /^msg_[0-9A-Z]{26}$/);
    assert.ok(Math.abs(connected.timestamp - Date.now() / 1000) < 60, 'webhook-timestamp is now, in seconds');

    await client.request({ type: 'subscribe', channel: 'room:1' });
    const pub = await client.request({ type: 'publish', channel: 'room:1', event: 'note', data: { text: 'hi' } });
    await client.request({ type: 'unsubscribe', channel: 'room:1' });
    client.ws.close(4000, 'bye');
    const left = await receiver.waitFor((w) => w.type === 'client.disconnected', 'client.disconnected');

    const ref = { connectionId, tenant: 'default', userId: 'ann', transport: 'websocket' };
    assert.deepEqual(left.data, { ...ref, code: 4000 });
    const byType = (type: string) => receiver.ofType(type).map((w) => w.data);
    assert.deepEqual(byType('channel.subscribed'), [{ ...ref, channel: 'room:1' }]);
    assert.deepEqual(byType('channel.occupied'), [{ tenant: 'default', channel: 'room:1' }]);
    assert.deepEqual(byType('presence.joined'), [{ ...ref, channel: 'room:1' }]);
    assert.deepEqual(byType('client.published'), [{ tenant: 'default', channels: ['room:1'], event: 'note', id: pub.result.id, data: { text: 'hi' }, userId: 'ann', info: { name: 'Ann' } }]);
    await waitFor(() => receiver.ofType('channel.vacated').length === 1, 'channel.vacated');
    assert.deepEqual(byType('channel.unsubscribed'), [{ ...ref, channel: 'room:1' }]);
    assert.deepEqual(byType('presence.left'), [{ ...ref, channel: 'room:1' }]);
    assert.deepEqual(byType('channel.vacated'), [{ tenant: 'default', channel: 'room:1' }]);
    assert.deepEqual(receiver.rejected, [], 'every request verified');
    assert.equal(new Set(receiver.accepted.map((w) => w.id)).size, receiver.accepted.length, 'one id per event');
  });

  it('sends a publication from the API only as what it is: nothing, since the backend made it', async () => {
    await using receiver = await startWebhookReceiver();
    await using herald = await heraldWith([{ url: receiver.url, events: ['client.published', 'client.connected'] }]);
    await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'e', data: 1 });
    await connectClient(herald.wsUrl, await herald.token({ sub: 'marker' }));
    await receiver.waitFor((w) => w.type === 'client.connected');
    assert.deepEqual(receiver.ofType('client.published'), []);
  });

  it('filters per endpoint by event type, tenant and channel pattern', async () => {
    await using all = await startWebhookReceiver();
    await using picky = await startWebhookReceiver();
    await using herald = await heraldWith([
      { url: all.url },
      { url: picky.url, events: ['channel.subscribed', 'client.connected'], tenants: ['acme'], channels: ['orders:*'] },
    ]);
    const acme = await connectClient(herald.wsUrl, await herald.token({ sub: 'a1', tenant: 'acme' }));
    const globex = await connectClient(herald.wsUrl, await herald.token({ sub: 'g1', tenant: 'globex' }));
    for (const channel of ['orders:1', 'news']) {
      await acme.request({ type: 'subscribe', channel });
      await globex.request({ type: 'subscribe', channel });
    }
    await waitFor(() => all.ofType('channel.subscribed').length === 4, 'four subscribes');
    // What the filtered endpoint gets went out with the rest: the unfiltered one has seen it all by now.
    await waitFor(() => picky.accepted.length === 2, 'the filtered endpoint’s two');
    assert.deepEqual(picky.accepted.map((w) => [w.type, w.data.tenant, w.data.channel]).sort(), [
      ['channel.subscribed', 'acme', 'orders:1'],
      ['client.connected', 'acme', undefined],
    ]);
    assert.ok(all.accepted.some((w) => w.type === 'client.connected' && w.data.tenant === 'globex'));
    const both = picky.accepted.map((w) => all.accepted.find((x) => x.id === w.id)?.data);
    assert.deepEqual(both, picky.accepted.map((w) => w.data), 'one event, one webhook-id for every endpoint');
  });

  it('retries a failing endpoint with the same webhook-id until it comes back', async () => {
    await using receiver = await startWebhookReceiver();
    receiver.mode = 503;
    await using herald = await heraldWith([{ url: receiver.url, events: ['client.connected'] }]);
    await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    await waitFor(() => receiver.attempts.length >= 3, 'three refused attempts');
    receiver.mode = 'ok';
    const delivered = await receiver.waitFor((w) => w.type === 'client.connected', 'the delivery once the endpoint is back');
    assert.deepEqual(new Set(receiver.attempts.map((a) => a.id)), new Set([delivered.id]), 'every attempt carried the one id');
    const stats = (await herald.api('GET', '/api/v1/stats/webhooks')).body;
    assert.equal(stats.endpoints[0].sent, 1);
    assert.ok(stats.endpoints[0].retries >= 3);
    assert.equal(stats.endpoints[0].failed, 0);
    assert.equal(stats.endpoints[0].queued, 0);
    assert.equal(stats.recentDeliveries.length, 1);
    const [sent] = stats.recentDeliveries;
    assert.deepEqual([sent.webhookId, sent.type, sent.outcome, sent.attempts > 1], [delivered.id, 'client.connected', 'sent', true]);
    const metrics = (await herald.api('GET', '/metrics')).body as string;
    assert.match(metrics, /herald_webhooks_sent_total\{endpoint="http:\/\/127\.0\.0\.1:\d+\/hooks"\} 1\n/);
    assert.match(metrics, /herald_webhooks_retries_total\{endpoint="[^"]+"\} ([3-9]|\d\d+)\n/);
  });

  it('keeps its figures from a caller limited to one tenant: 403, since endpoints and deliveries are the whole gateway', async () => {
    await using receiver = await startWebhookReceiver();
    await using herald = await heraldWith([{ url: receiver.url, events: ['client.connected'] }], {}, { api: { keys: [{ key: TEST_API_KEY, tenant: 'acme' }] } });
    const { status, body } = await herald.api('GET', '/api/v1/stats/webhooks');
    assert.equal(status, 403);
    assert.equal(body.error.code, 'forbidden');
    assert.match(body.error.message, /whole gateway's; this caller sees only tenant acme/);
  });

  it('names the reason of an endpoint that refuses connections, in stats, metrics and the log', async () => {
    const closed = await startWebhookReceiver();
    await closed.close();
    const lines: any[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    await using herald = await startHerald(
      { presence: { userEvents: false }, webhooks: { secret: TEST_WEBHOOK_SECRET, endpoints: [{ url: closed.url, name: 'gone', events: ['client.connected'], retry: fast(300) }] } },
      { logger },
    );
    await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    const stats = await waitFor(async () => {
      const body = (await herald.api('GET', '/api/v1/stats/webhooks')).body;
      return body.endpoints[0].failed === 1 && body;
    }, 'the failure');
    assert.equal(stats.recentFailures[0].reason, 'ECONNREFUSED');
    assert.deepEqual(
      stats.recentDeliveries.map((d: { endpoint: string; outcome: string; reason: string; webhookId: string }) => [d.endpoint, d.outcome, d.reason, d.webhookId]),
      [['gone', 'failed', 'ECONNREFUSED', stats.recentFailures[0].webhookId]],
    );
    assert.match((await herald.api('GET', '/metrics')).body, /herald_webhooks_failed_total\{endpoint="gone"\} 1\n/);
    const logged = lines.find((l) => l.event === 'webhook_failed');
    assert.deepEqual([logged?.endpoint, logged?.type, logged?.reason, logged?.webhookId], ['gone', 'client.connected', 'ECONNREFUSED', stats.recentFailures[0].webhookId]);
  });

  it('gives up on an endpoint that never answers with a clear outcome, and loses nothing for the others or for clients', async () => {
    await using silent = await startWebhookReceiver();
    silent.mode = 'hang';
    await using healthy = await startWebhookReceiver();
    await using herald = await heraldWith([
      { url: silent.url, name: 'silent', timeout: 200, retry: fast(600) },
      { url: healthy.url, name: 'healthy' },
    ]);
    const announced = webhookEvents(herald);
    const reader = await connectClient(herald.wsUrl, await herald.token({ sub: 'reader' }));
    await reader.request({ type: 'subscribe', channel: 'news' });
    const n = 20;
    for (let i = 0; i < n; i++) await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'e', data: i });
    // Clients get every publication while the silent endpoint holds its requests open.
    await waitFor(() => reader.pubs('news').length === n, 'every publication at the reader', 3000);
    assert.deepEqual(reader.pubs('news').map((p) => p.data), Array.from({ length: n }, (_, i) => i));
    await healthy.waitFor((w) => w.type === 'channel.subscribed', 'the healthy endpoint’s subscribe');

    // The reader's connect, subscribe, the channel's occupancy and the reader's presence: four events, each given up on.
    await waitFor(() => announced.filter((e) => e.endpoint === 'silent').length === 4, 'the silent endpoint’s four failures', 5000);
    const failures = announced.filter((e) => e.endpoint === 'silent');
    assert.ok(failures.every((e) => e.action === 'failed' && e.reason === 'no answer within 200 ms'), JSON.stringify(failures));
    assert.deepEqual(new Set(failures.map((f) => f.type)), new Set(['client.connected', 'channel.subscribed', 'channel.occupied', 'presence.joined']));
    const stats = (await herald.api('GET', '/api/v1/stats/webhooks')).body;
    const [silentStats, healthyStats] = stats.endpoints;
    assert.equal(silentStats.failed, failures.length);
    assert.equal(silentStats.sent, 0);
    assert.equal(healthyStats.failed, 0);
    assert.equal(healthyStats.sent, healthy.accepted.length);
    assert.equal(stats.recentFailures[0].reason, 'no answer within 200 ms');
    assert.ok(stats.recentFailures.every((f: { endpoint: string; attempts: number }) => f.endpoint === 'silent' && f.attempts >= 2));
  });

  it('drops what overflows a full queue, counts it, logs it, says so on the bus, and keeps what it holds', async () => {
    await using receiver = await startWebhookReceiver();
    receiver.mode = 'hang';
    const lines: any[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    await using herald = await startHerald(
      {
        presence: { userEvents: false },
        webhooks: { secret: TEST_WEBHOOK_SECRET, queue: { maxEvents: 3, maxBytes: 1024 * 1024 }, endpoints: [{ url: receiver.url, name: 'slow', timeout: 60_000, concurrency: 1, events: ['channel.subscribed'] }] },
      },
      { logger },
    );
    const announced = webhookEvents(herald);
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    for (let i = 0; i < 5; i++) await client.request({ type: 'subscribe', channel: `c:${i}` });
    await waitFor(() => announced.length === 2, 'two drops');
    assert.ok(announced.every((e) => e.action === 'dropped' && e.endpoint === 'slow' && e.type === 'channel.subscribed' && e.reason.startsWith('queue full')));
    const stats = (await herald.api('GET', '/api/v1/stats/webhooks')).body.endpoints[0];
    assert.deepEqual([stats.queued, stats.inFlight, stats.dropped], [3, 1, 2]);
    const metrics = (await herald.api('GET', '/metrics')).body as string;
    assert.match(metrics, /herald_webhooks_dropped_total\{endpoint="slow"\} 2/);
    assert.match(metrics, /herald_webhooks_queued\{endpoint="slow"\} 3/);
    // One warning for the burst: at most one every 10 s per endpoint.
    assert.deepEqual(lines.filter((l) => l.event === 'webhook_dropped').map((l) => [l.endpoint, l.dropped]), [['slow', 1]]);
    receiver.mode = 'ok';
  });

  it('bounds the queue in bytes as well as in events', async () => {
    await using receiver = await startWebhookReceiver();
    receiver.mode = 'hang';
    await using herald = await heraldWith([{ url: receiver.url, timeout: 60_000, events: ['client.published'] }], { queue: { maxEvents: 1000, maxBytes: 4096 } });
    const announced = webhookEvents(herald);
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    const text = 'x'.repeat(1500);
    for (let i = 0; i < 4; i++) await client.request({ type: 'publish', channel: 'news', event: 'e', data: { text } });
    await waitFor(() => announced.length === 2, 'two drops');
    const stats = (await herald.api('GET', '/api/v1/stats/webhooks')).body.endpoints[0];
    assert.equal(stats.queued, 2);
    assert.ok(stats.queuedBytes <= 4096 && stats.queuedBytes > 3000, String(stats.queuedBytes));
  });

  it('sends what a data route’s client sends, and a stream cancelled by a viewer', async () => {
    await using receiver = await startWebhookReceiver();
    await using herald = await startHerald({
      presence: { userEvents: false },
      routes: [{ path: '/ws/projects/{project_id}', channel: 'project:{project_id}', format: 'data' }],
      webhooks: { secret: TEST_WEBHOOK_SECRET, endpoints: [{ url: receiver.url, events: ['client.message', 'stream.cancelled'] }] },
    });
    const viewer = new TestClient(`${herald.wsUrl}/ws/projects/7?token=${encodeURIComponent(await herald.token({ sub: 'ann' }))}`);
    await viewer.opened();
    await waitFor(() => herald.server.node.sessions.size === 1, 'the route’s session');
    viewer.send({ type: 'iteration_feedback', text: 'shorter please' });
    const message = await receiver.waitFor((w) => w.type === 'client.message', 'client.message');
    const [session] = herald.server.node.sessions.values();
    assert.deepEqual(message.data, { ...session.ref(), route: '/ws/projects/{project_id}', data: { type: 'iteration_feedback', text: 'shorter please' } });
    assert.deepEqual(viewer.frames.filter((f) => f?.type === 'error'), [], 'no unknown_frame error for an app frame');
    // A frame past the data limits is refused as a publication's data would be, and not sent.
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    viewer.send({ type: 'iteration_feedback', deep });
    const refused = await viewer.next((f) => f?.type === 'error');
    assert.equal(refused.code, 'bad_request');
    assert.match(refused.message, /deeper than 64/);

    // Streams announce themselves on the bus; only a cancel is the backend's news.
    herald.server.node.events.emit('stream', { action: 'completed', tenant: 'default', channel: 'project:7', streamId: 's0' });
    herald.server.node.events.emit('stream', { action: 'cancelled', tenant: 'default', channel: 'project:7', streamId: 's1', userId: 'ann', connectionId: session.id });
    const cancelled = await receiver.waitFor((w) => w.type === 'stream.cancelled', 'stream.cancelled');
    assert.deepEqual(cancelled.data, { tenant: 'default', channel: 'project:7', streamId: 's1', userId: 'ann', connectionId: session.id });
    assert.equal(receiver.ofType('stream.cancelled').length, 1, 'only the cancel');
    assert.equal(receiver.ofType('client.message').length, 1, 'the refused frame was not sent');
    viewer.close();
  });

  it('sends the disconnects of a graceful shutdown before the node stops', async () => {
    await using receiver = await startWebhookReceiver();
    const herald = await heraldWith([{ url: receiver.url, events: ['client.disconnected'] }]);
    await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    await herald.close();
    assert.deepEqual(receiver.ofType('client.disconnected').map((w) => [w.data.userId, w.data.code]), [['ann', 1012]]);
  });

  it('stops within the shutdown timeout when an endpoint never answers, saying what was not sent', async () => {
    await using receiver = await startWebhookReceiver();
    receiver.mode = 'hang';
    const lines: any[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const herald = await startHerald(
      { presence: { userEvents: false }, server: { shutdownTimeout: 500 }, webhooks: { secret: TEST_WEBHOOK_SECRET, endpoints: [{ url: receiver.url, name: 'silent', timeout: 60_000 }] } },
      { logger },
    );
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    await client.request({ type: 'subscribe', channel: 'news' });
    const started = Date.now();
    await herald.close();
    assert.ok(Date.now() - started < 3000, `closed in ${Date.now() - started} ms`);
    const unsent = lines.find((l) => l.event === 'webhook_unsent');
    assert.equal(unsent?.endpoint, 'silent');
    assert.ok(unsent.queued >= 1);
  });

  it('refuses a configuration it could not sign with, naming the field', async () => {
    const { parseConfig } = await import('../config/load.js');
    assert.throws(() => parseConfig({ webhooks: { endpoints: [{ url: 'http://127.0.0.1:1/x' }] } }, 'test'), /webhooks\.endpoints\.0\.secret.*needs a secret/s);
    assert.throws(() => parseConfig({ webhooks: { secret: 'not-a-secret', endpoints: [] } }, 'test'), /whsec_/);
    assert.throws(() => parseConfig({ webhooks: { secret: TEST_WEBHOOK_SECRET, endpoints: [{ url: 'ftp://x/y' }] } }, 'test'), /http:\/\/ or https:\/\//);
    assert.throws(() => parseConfig({ webhooks: { secret: TEST_WEBHOOK_SECRET, endpoints: [{ url: 'http://x/y', events: ['client.exploded'] }] } }, 'test'), /events/);
  });
});

