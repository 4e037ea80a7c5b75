import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseConfig, type HeraldConfigInput } from '@herald/server';
import { connectClient, startRedisServer, TEST_API_KEY, type RedisServer } from '@herald/server/testing';
import Pusher from 'pusher';
import { parse as parseYaml } from 'yaml';
import { describeWithRedis, startCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { APP, disconnecting, next, OTHER_APP, PUSHER_CONFIG, pusherJs, startAuthEndpoint, startPusherHerald, type PusherClient } from './support.js';

type App = { id: string; key: string; secret: string };
type AppInput = NonNullable<NonNullable<HeraldConfigInput['pusher']>['apps']>[number];
type WebhookInput = NonNullable<AppInput['webhooks']>[number];

/** One event of a request the receiver verified, with the request's `time_ms`. */
interface ReceivedEvent {
  name: string;
  channel: string;
  time_ms: number;
  [field: string]: unknown;
}

/**
 * An app backend's webhook endpoint: a real HTTP server that checks each request with the
 * `pusher` SDK's `webhook()` helper, as Pusher's docs tell apps to. `fail` answers the next
 * requests 500 (they are not counted as received).
 */
async function startPusherWebhookReceiver(app: App) {
  const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, cluster: 'local' });
  const events: ReceivedEvent[] = [];
  const invalid: { headers: IncomingHttpHeaders; body: string }[] = [];
  const requests: { headers: IncomingHttpHeaders; body: string }[] = [];
  let failNext = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      requests.push({ headers: req.headers, body: rawBody });
      const webhook = sdk.webhook({ headers: req.headers as Record<string, string>, rawBody });
      if (!webhook.isValid()) {
        invalid.push({ headers: req.headers, body: rawBody });
        return res.writeHead(401).end();
      }
      if (failNext > 0) {
        failNext -= 1;
        return res.writeHead(500).end();
      }
      for (const e of webhook.getEvents()) events.push({ ...(e as unknown as ReceivedEvent), time_ms: webhook.getTime().getTime() });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pusher/webhooks?token=abc`,
    events,
    invalid,
    requests,
    fail(count: number) {
      failNext = count;
    },
    named: (name: string) => events.filter((e) => e.name === name),
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const FAST_RETRY = { initialDelay: 50, maxDelay: 200 };
const ALL_EVENTS = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'] as const;

/** The apps of the Pusher tests with these webhooks. */
function appsWithWebhooks(webhooks: WebhookInput[], otherWebhooks: WebhookInput[] = []): HeraldConfigInput {
  const [first, second] = PUSHER_CONFIG.pusher!.apps!;
  return { pusher: { apps: [{ ...first, webhooks }, { ...second, webhooks: otherWebhooks }] } };
}

/** This node's webhook stats, as an operator reads them. */
async function webhookStats(herald: { url: string }): Promise<any> {
  return (await fetch(`${herald.url}/api/v1/stats/webhooks`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })).json();
}

const summary = (events: ReceivedEvent[]) => events.map(({ time_ms: _t, ...e }) => e);
const sortedSummary = (events: ReceivedEvent[]) => summary(events).map((e) => JSON.stringify(e)).sort();

async function subscribed(client: PusherClient, name: string) {
  const channel = client.subscribe(name) as any;
  await next(channel, 'pusher:subscription_succeeded');
  return channel;
}

describe('Pusher webhooks', () => {
  it('sends channel_occupied, member_added, client_event, member_removed and channel_vacated as Pusher does, signed for the SDK’s webhook()', async () => {
    await using all = await startPusherWebhookReceiver(APP);
    await using filtered = await startPusherWebhookReceiver(APP);
    await using otherApp = await startPusherWebhookReceiver(OTHER_APP);
    await using herald = await startPusherHerald(
      appsWithWebhooks(
        [
          { url: all.url, event_types: [...ALL_EVENTS], retry: FAST_RETRY },
          { url: filtered.url, name: 'private-only', event_types: ['channel_occupied', 'client_event'], filter: { channel_name_starts_with: 'private-', channel_name_ends_with: '-b' } },
        ],
        [{ url: otherApp.url, event_types: [...ALL_EVENTS] }],
      ),
    );
    await using auth = await startAuthEndpoint(APP, { ann: { id: 'ann', info: { name: 'Ann' } }, bob: { id: 'bob' } });
    const ann = pusherJs(herald, { auth: auth.url, user: 'ann' });
    const bob = pusherJs(herald, { auth: auth.url, user: 'bob' });
    // A client of the other app on a channel of the same name.
    const other = pusherJs(herald, { key: OTHER_APP.key });
    using _ = disconnecting(ann, bob, other);

    const before = Date.now();
    await subscribed(other, 'orders');
    const annRoom = await subscribed(ann, 'presence-room');
    await waitFor(() => all.named('member_added').length === 1, 'ann added');
    const bobRoom = await subscribed(bob, 'presence-room');
    await subscribed(ann, 'orders');
    await subscribed(ann, 'private-chat-a');
    await subscribed(ann, 'private-chat-b');
    const bobChat = await subscribed(bob, 'private-chat-b');
    const wave = next(annRoom, 'client-wave');
    bobRoom.trigger('client-wave', { hi: true });
    await wave;
    const typing = next(bobChat, 'client-typing');
    (ann.channel('private-chat-b') as any).trigger('client-typing', 'plain text');
    await typing;
    await waitFor(() => all.named('client_event').length === 2 && all.named('member_added').length === 2, 'the client events and members');
    const annSocket = ann.connection.socket_id;
    const bobSocket = bob.connection.socket_id;

    const removed = next(annRoom, 'pusher:member_removed');
    bob.unsubscribe('presence-room');
    await removed;
    await waitFor(() => all.named('member_removed').length === 1, 'bob removed');
    ann.disconnect();
    await waitFor(() => all.named('channel_vacated').length === 3, 'the channels only ann was in vacated');
    bob.disconnect();
    await waitFor(() => all.named('channel_vacated').length === 4, 'the last channel vacated');

    assert.deepEqual(summary(all.named('channel_occupied')).map((e) => e.channel).sort(), ['orders', 'presence-room', 'private-chat-a', 'private-chat-b']);
    assert.deepEqual(summary(all.named('channel_vacated')).map((e) => e.channel).sort(), ['orders', 'presence-room', 'private-chat-a', 'private-chat-b']);
    assert.deepEqual(summary(all.named('member_added')), [
      { name: 'member_added', channel: 'presence-room', user_id: 'ann' },
      { name: 'member_added', channel: 'presence-room', user_id: 'bob' },
    ]);
    assert.deepEqual(summary(all.named('member_removed')), [
      { name: 'member_removed', channel: 'presence-room', user_id: 'bob' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'ann' },
    ]);
    assert.deepEqual(summary(all.named('client_event')).sort((a, b) => String(a.event).localeCompare(String(b.event))), [
      { name: 'client_event', channel: 'private-chat-b', event: 'client-typing', data: 'plain text', socket_id: annSocket },
      { name: 'client_event', channel: 'presence-room', event: 'client-wave', data: '{"hi":true}', socket_id: bobSocket, user_id: 'bob' },
    ]);
    // One event per request, `time_ms` the time it happened; the app key in X-Pusher-Key.
    assert.equal(all.requests.length, all.events.length);
    for (const e of all.events) assert.ok(e.time_ms >= before - 1000 && e.time_ms <= Date.now() + 1000, String(e.time_ms));
    for (const r of all.requests) {
      assert.equal(r.headers['x-pusher-key'], APP.key);
      assert.match(String(r.headers['x-pusher-signature']), /^[0-9a-f]{64}$/);
      assert.equal(r.headers['content-type'], 'application/json');
    }
    assert.deepEqual(all.invalid, []);
    // The signature is the app's: the other app's secret does not verify it.
    const wrongSecret = new Pusher({ appId: APP.id, key: APP.key, secret: OTHER_APP.secret, cluster: 'local' });
    assert.equal(wrongSecret.webhook({ headers: all.requests[0].headers as Record<string, string>, rawBody: all.requests[0].body }).isValid(), false);

    // The filtered webhook: its types, on channels starting with private- and ending with -b.
    assert.deepEqual(sortedSummary(filtered.events), sortedSummary([
      { name: 'channel_occupied', channel: 'private-chat-b', time_ms: 0 },
      { name: 'client_event', channel: 'private-chat-b', event: 'client-typing', data: 'plain text', socket_id: annSocket, time_ms: 0 },
    ]));
    // The other app's webhook hears of its own channel only, signed with its own key.
    assert.deepEqual(summary(otherApp.events), [{ name: 'channel_occupied', channel: 'orders' }]);
    assert.equal(otherApp.requests[0].headers['x-pusher-key'], OTHER_APP.key);

    // The webhook machinery's stats name the endpoints and count what they sent.
    const stats = await webhookStats(herald);
    const byName = Object.fromEntries(stats.endpoints.map((e: any) => [e.name, e]));
    const allName = `${APP.id} ${all.url.split('?')[0]}`;
    assert.deepEqual(byName[allName].events, [...ALL_EVENTS]);
    assert.equal(byName[allName].url, all.url.split('?')[0], 'the query (it may hold a token) is not shown');
    assert.equal(byName[allName].sent, all.events.length);
    assert.equal(byName['private-only'].sent, 2);
  });

  it('retries a failed request with the machinery’s backoff, counted in stats and metrics, until the endpoint takes it', async () => {
    await using receiver = await startPusherWebhookReceiver(APP);
    await using herald = await startPusherHerald(appsWithWebhooks([{ url: receiver.url, name: 'backend', event_types: ['channel_occupied'], retry: FAST_RETRY }]));
    receiver.fail(2);
    const client = pusherJs(herald);
    using _ = disconnecting(client);
    await subscribed(client, 'orders');
    await waitFor(() => receiver.events.length === 1, 'the occupied event, after two failures');
    assert.equal(receiver.requests.length, 3);
    // Every attempt carries the same body.
    assert.equal(new Set(receiver.requests.map((r) => r.body)).size, 1);
    assert.deepEqual(summary(receiver.events), [{ name: 'channel_occupied', channel: 'orders' }]);
    const stats = await webhookStats(herald);
    assert.deepEqual({ sent: stats.endpoints[0].sent, retries: stats.endpoints[0].retries, failed: stats.endpoints[0].failed }, { sent: 1, retries: 2, failed: 0 });
    const metrics = await (await fetch(`${herald.url}/metrics`)).text();
    assert.match(metrics, /herald_webhooks_retries_total\{endpoint="backend"\} 2/);
    assert.match(metrics, /herald_webhooks_sent_total\{endpoint="backend"\} 1/);
  });

  it('holds at most webhooks.queue events per webhook: past it events are dropped and counted, and clients are not slowed', async () => {
    // An endpoint that takes connections and never answers.
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hooks`;
      await using herald = await startPusherHerald({
        ...appsWithWebhooks([{ url, name: 'silent', event_types: ['channel_occupied'], concurrency: 1, timeout: 30_000 }]),
        webhooks: { queue: { maxEvents: 2 } },
      });
      const client = pusherJs(herald);
      using _ = disconnecting(client);
      for (const channel of ['a', 'b', 'c', 'd']) await subscribed(client, channel);
      await waitFor(async () => {
        const stats = await webhookStats(herald);
        return stats.endpoints[0].dropped === 2 && stats.endpoints[0].queued === 2 && stats.endpoints[0].inFlight === 1;
      }, 'two events held, two dropped');
      assert.match(await (await fetch(`${herald.url}/metrics`)).text(), /herald_webhooks_dropped_total\{endpoint="silent"\} 2/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('sends no client_event for publications of Herald’s own clients, and no members of channels that are not presence channels', async () => {
    await using receiver = await startPusherWebhookReceiver(APP);
    await using herald = await startPusherHerald(appsWithWebhooks([{ url: receiver.url, event_types: ['client_event', 'member_added', 'channel_occupied'] }]));
    const native = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: APP.id }));
    try {
      // The channel rule keeps presence on every channel: a native member joins `room`, which is not Pusher's presence.
      assert.ok((await native.request({ type: 'subscribe', channel: 'room' })).result);
      assert.ok((await native.request({ type: 'subscribe', channel: 'private-x' })).result);
      assert.ok((await native.request({ type: 'publish', channel: 'private-x', event: 'client-note', data: { n: 1 } })).result);
      await waitFor(() => receiver.events.length === 2, 'the two occupied channels');
      // A Pusher client's event afterwards arrives: nothing else was queued before it.
      await using auth = await startAuthEndpoint(APP);
      const client = pusherJs(herald, { auth: auth.url });
      using _ = disconnecting(client);
      const channel = await subscribed(client, 'private-x');
      const seen = native.next((f) => f.type === 'pub' && f.event === 'client-ping');
      channel.trigger('client-ping', {});
      await seen;
      await waitFor(() => receiver.named('client_event').length === 1, 'the Pusher client event');
      assert.deepEqual(summary(receiver.events).map((e) => `${e.name} ${e.channel} ${e.event ?? ''}`).sort(), ['channel_occupied private-x ', 'channel_occupied room ', 'client_event private-x client-ping']);
    } finally {
      native.close();
    }
  });

  it('refuses a configuration with an unknown event type or filter, naming the field', () => {
    const config = (webhook: Record<string, unknown>) => ({ pusher: { apps: [{ ...APP, webhooks: [{ url: 'http://backend.example/hooks', ...webhook }] }] } });
    assert.throws(() => parseConfig(config({ event_types: ['channel_created'] })), /pusher\.apps\.0\.webhooks\.0\.event_types\.0/);
    assert.throws(() => parseConfig(config({ event_types: [] })), /pusher\.apps\.0\.webhooks\.0\.event_types/);
    assert.throws(() => parseConfig(config({ event_types: ['client_event'], filter: { channel_name_contains: 'x' } })), /pusher\.apps\.0\.webhooks\.0\.filter/);
    assert.throws(() => parseConfig(config({ event_types: ['client_event'], url: 'ftp://backend.example' })), /pusher\.apps\.0\.webhooks\.0\.url/);
    assert.equal(parseConfig(config({ event_types: ['client_event'] })).pusher.apps[0].webhooks[0].timeout, 5000);
  });

  it('parses the Webhooks block of docs/pusher.md', () => {
    const doc = readFileSync(new URL('../../../../docs/pusher.md', import.meta.url), 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(doc.slice(doc.indexOf('\n## Webhooks\n')))![1];
    const [full, filtered] = parseConfig(parseYaml(block)).pusher.apps[0].webhooks;
    assert.deepEqual(full.event_types, [...ALL_EVENTS]);
    assert.deepEqual(filtered.filter, { channel_name_starts_with: 'private-', channel_name_ends_with: '-chat' });
    assert.deepEqual([filtered.name, filtered.timeout, filtered.retry.giveUpAfter], ['private-hooks', 5000, 600_000]);
  });
});

describeWithRedis('Pusher webhooks on two nodes over Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.close();
  });

  it('sends each event once: occupancy from the node that decided it, members and client events from their connection’s node', async () => {
    await using receiver = await startPusherWebhookReceiver(APP);
    await using cluster = await startCluster(redis, 2, appsWithWebhooks([{ url: receiver.url, event_types: [...ALL_EVENTS], retry: FAST_RETRY }]));
    const [a, b] = cluster.nodes;
    await using auth = await startAuthEndpoint(APP, { ann: { id: 'ann' }, bob: { id: 'bob' }, cat: { id: 'cat' } });
    const ann = pusherJs(a, { auth: auth.url, user: 'ann' });
    const bob = pusherJs(b, { auth: auth.url, user: 'bob' });
    const cat = pusherJs(b, { auth: auth.url, user: 'cat' });
    using _ = disconnecting(ann, bob, cat);
    // All three at once, on both nodes: one of them occupies the channel.
    const [annRoom, bobRoom] = await Promise.all([subscribed(ann, 'presence-team'), subscribed(bob, 'presence-team'), subscribed(cat, 'presence-team')]);
    await waitFor(() => receiver.named('member_added').length === 3, 'three members added');
    const wave = next(annRoom, 'client-wave');
    bobRoom.trigger('client-wave', { from: 'b' });
    await wave;
    await waitFor(() => receiver.named('client_event').length === 1, 'the client event');
    ann.disconnect();
    bob.disconnect();
    cat.disconnect();
    await waitFor(() => receiver.named('channel_vacated').length === 1 && receiver.named('member_removed').length === 3, 'the channel vacated');
    // Late duplicates would come within the retry delays: give them the time to.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(
      summary(receiver.events).map((e) => `${e.name} ${e.user_id ?? ''}`).sort(),
      ['channel_occupied ', 'channel_vacated ', 'client_event bob', 'member_added ann', 'member_added bob', 'member_added cat', 'member_removed ann', 'member_removed bob', 'member_removed cat'],
    );
    assert.deepEqual(receiver.invalid, []);
    assert.equal(receiver.requests.length, receiver.events.length);
  });
});
