import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ulid } from 'ulid';
import type { HeraldConfigInput } from '../config/schema.js';
import { channelKey } from '../engine.js';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { receivedAtLeast, Refusal, type OpenReceiver, type Received, type Receiver } from '../testing/receiver.js';
import { waitFor } from '../testing/wait.js';
import { connectClient } from '../testing/ws-client.js';

/** Rules every transport is tested under. */
export const SUITE_CONFIG: HeraldConfigInput = {
  channels: {
    rules: [
      { pattern: 'small', history: { size: 3, ttl: '5m' } },
      { pattern: 'staff', subscribe: { roles: ['staff'] } },
      { pattern: 'notes', publish: 'all', history: { size: 100, ttl: '5m' } },
      { pattern: 'shop', history: { size: 100, ttl: '5m' }, eventRoles: { payment_error: ['STORE_MANAGER', 'ADMIN'] } },
      { pattern: '*', history: { size: 1000, ttl: '5m' } },
    ],
  },
  // Only publications on the stream: no tenant-wide user:online / offline.
  presence: { userEvents: false },
  limits: { connectionsPerUser: 20, messageRate: { perSecond: 10_000, burst: 10_000 } },
};

export interface TransportSuiteOptions {
  name: string;
  open: OpenReceiver;
  /** How this transport says it: a bad token (unless `skip.tokens`), a forbidden channel, and "reconnect" at shutdown. */
  expect: { unauthorized?: number | string; forbidden: number | string; shutdown: number | string };
  /**
   * Whether a resume replays all channels as one stream in publication order (one SSE cursor,
   * one Socket.IO offset) rather than channel by channel (native WebSocket `since` per channel).
   */
  resumesAsOneStream: boolean;
  /** Merged over SUITE_CONFIG: what the transport needs configured (Pusher's apps). */
  config?: HeraldConfigInput;
  /**
   * What the transport's protocol has no way to do, each with the reason printed as the cases
   * that need it are skipped: `resume` (the recovery cases), `roles` (a user's roles),
   * `tokens` (a Herald token on connect).
   */
  skip?: Partial<Record<'resume' | 'roles' | 'tokens', string>>;
  /** Whether publications arrive with their id (default true); without, the suite knows them by channel, event and number. */
  ids?: boolean;
  /** A channel name past plain letters, in the characters the transport allows (default `city:Саратов`). */
  oddChannel?: string;
}

/** A published publication, as the test knows it. */
export interface Sent {
  id: string;
  channel: string;
  event: string;
  n: number;
}

/** Publishes through the HTTP API; the data names its channel, since Socket.IO events carry only the data. */
export async function publish(herald: HeraldFixture, channel: string, event: string, n: number, extra: Record<string, unknown> = {}): Promise<Sent> {
  const { status, body } = await herald.api('POST', '/api/v1/publish', { channel, event, data: { channel, n }, ...extra });
  assert.equal(status, 200, JSON.stringify(body));
  return { id: body.id, channel, event, n };
}

/**
 * Publishes as another node would whose id was minted earlier than what is already stored: the
 * id sorts before the channel's newer publications though its offset comes after them.
 */
export async function publishWithEarlierId(herald: HeraldFixture, channel: string, event: string, n: number): Promise<Sent> {
  const node = herald.server.node;
  const id = ulid(Date.now() - 60_000);
  await herald.engine.broker.publish(channelKey('default', channel), { id, channel, event, data: { channel, n }, ts: Date.now() }, { history: node.historyOptions(channel) });
  return { id, channel, event, n };
}

/** Publishes round-robin over `channels`, one after the other, until stopped. */
export function keepPublishing(herald: HeraldFixture, channels: string[]) {
  const sent: Sent[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) sent.push(await publish(herald, channels[n % channels.length], 'tick', n));
  })();
  return {
    sent,
    /** Stops, then publishes an `end` on every channel, so that a receiver holding every `end` holds everything. */
    async stop(): Promise<void> {
      running = false;
      await loop;
      for (const channel of channels) sent.push(await publish(herald, channel, 'end', -1));
    },
  };
}

/** The channel of a received publication, from the transport or from the data. */
export const channelOf = (r: Received): string => r.channel ?? (r.data as { channel: string }).channel;

/**
 * What the suite knows a publication by: its id, or on a transport that carries none (Pusher)
 * its channel, event and number, which the suite's publishers keep unique.
 */
export function keyOf(p: Sent | Received, ids = true): string {
  if (ids) return p.id ?? 'no id';
  const n = 'n' in p ? p.n : (p.data as { n?: unknown } | null)?.n;
  return `${'n' in p ? p.channel : channelOf(p)} ${p.event} ${String(n)}`;
}

/** Waits until a receiver holds the `end` of every channel. */
export async function untilEnds(receiver: Receiver, channels: string[], timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () => channels.every((c) => receiver.received.some((r) => r.event === 'end' && channelOf(r) === c)), `${receiver.transport}: the end of every channel`, timeoutMs);
}

/**
 * No gap and no duplicate: the receiver holds every sent id once, and each channel's ids in
 * publication order. A receiver that resumes channel by channel (native WebSocket) may
 * interleave channels differently while it replays; `exact` also checks the whole order.
 * `byId` false knows publications as keyOf does without ids.
 */
export function assertSameStream(receiver: Receiver, sent: Sent[], exact: boolean, byId = true): void {
  const key = (p: Sent | Received) => keyOf(p, byId);
  const ids = receiver.received.map(key);
  const label = receiver.transport;
  assert.equal(new Set(ids).size, ids.length, `${label}: a publication arrived twice`);
  for (const channel of new Set(sent.map((s) => s.channel))) {
    const got = receiver.received.filter((r) => channelOf(r) === channel).map(key);
    assert.deepEqual(got, sent.filter((s) => s.channel === channel).map(key), `${label}: channel ${channel}`);
  }
  if (exact) assert.deepEqual(ids, sent.map(key), `${label}: whole stream`);
}

async function refusal(promise: Promise<Receiver>): Promise<Refusal> {
  try {
    const receiver = await promise;
    await receiver.close();
  } catch (err) {
    if (err instanceof Refusal) return err;
    throw err;
  }
  assert.fail('the connection was accepted');
}

/**
 * The behaviour every client transport must share, run by each transport's test file (as
 * hono's router `common.case.test.ts`).
 *
 * @example
 * runTransportSuite({ name: 'SSE', open: openSseReceiver, expect: { unauthorized: 401, forbidden: 'forbidden', shutdown: 1012 }, resumesAsOneStream: true });
 * runTransportSuite({ name: 'Pusher', …, skip: { resume: 'protocol 7 replays nothing' }, ids: false });
 */
export function runTransportSuite(options: TransportSuiteOptions): void {
  const { name, open: openReceiver, expect, resumesAsOneStream, skip = {}, ids = true, oddChannel = 'city:Саратов' } = options;
  const config: HeraldConfigInput = { ...SUITE_CONFIG, ...options.config };
  const key = (p: Sent | Received) => keyOf(p, ids);
  // node:test prints the reason beside each skipped case.
  const needs = (what: keyof NonNullable<TransportSuiteOptions['skip']>) => (skip[what] ? { skip: `${name} has no ${what}: ${skip[what]}` } : {});
  describe(`transport suite: ${name}`, () => {
    // Closed after each test, passed or failed, so that no client keeps reconnecting.
    const opened: Receiver[] = [];
    const open: OpenReceiver = async (...args) => {
      const receiver = await openReceiver(...args);
      opened.push(receiver);
      return receiver;
    };
    afterEach(() => Promise.all(opened.splice(0).map((r) => r.close().catch(() => {}))).then(() => {}));

    describe('delivery', () => {
      it('delivers one channel in publication order', async () => {
        await using herald = await startHerald(config);
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), ['news']);
        const sent: Sent[] = [];
        for (let n = 1; n <= 10; n++) sent.push(await publish(herald, 'news', `news:${n % 2 ? 'odd' : 'even'}`, n));
        const got = await receivedAtLeast(receiver, 10);
        assert.deepEqual(got.map(key), sent.map(key));
        assert.deepEqual(got.map((r) => r.event), sent.map((_s, i) => `news:${(i + 1) % 2 ? 'odd' : 'even'}`));
        assert.deepEqual(got.map((r) => r.data), sent.map((_s, i) => ({ channel: 'news', n: i + 1 })));
        for (const r of got) assert.ok(r.channel === undefined || r.channel === 'news');
        await receiver.close();
      });

      it('delivers several channels as one stream in publication order', async () => {
        await using herald = await startHerald(config);
        const channels = ['a', 'b', oddChannel];
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), channels);
        const sent: Sent[] = [];
        for (let n = 0; n < 12; n++) sent.push(await publish(herald, channels[n % 3], 'tick', n));
        await receivedAtLeast(receiver, 12);
        assertSameStream(receiver, sent, true, ids);
        await receiver.close();
      });
    });

    describe('publisher stamp', () => {
      it("stamps a client's publication with its verified user, whatever the client wrote, and not the API's", async () => {
        await using herald = await startHerald(config);
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), ['notes']);
        const writer = await connectClient(herald.wsUrl, await herald.token({ sub: 'pat', name: 'Pat' }));
        const forged = { channel: 'notes', n: 1, publisher: { userId: 'boss' } };
        const published = await writer.request({ type: 'publish', channel: 'notes', event: 'note', data: forged, publisher: { userId: 'boss' } });
        assert.equal(published.error, undefined, JSON.stringify(published));
        await publish(herald, 'notes', 'from-api', 2);
        const [note, fromApi] = await receivedAtLeast(receiver, 2);
        const stamp = { userId: 'pat', info: { name: 'Pat' } };
        // Beside the data where the transport sends the envelope; in the data where it sends only that.
        if (note.publisher !== undefined) {
          assert.deepEqual(note.publisher, stamp);
          assert.deepEqual(note.data, { channel: 'notes', n: 1 });
        } else assert.deepEqual(note.data, { channel: 'notes', n: 1, publisher: stamp });
        assert.equal(fromApi.publisher, undefined);
        assert.deepEqual(fromApi.data, { channel: 'notes', n: 2 });
        writer.close();
        await receiver.close();
      });
    });

    describe('filtering', () => {
      // Publications on `shop` that only some users may have.
      const publishShop = async (herald: HeraldFixture) => {
        await publish(herald, 'shop', 'stock_alert', 1);
        await publish(herald, 'shop', 'payment_error', 2);
        await publish(herald, 'shop', 'rental_created', 3, { audience: { roles: ['STORE_MANAGER', 'ADMIN'] } });
        await publish(herald, 'shop', 'personal', 4, { audience: { users: ['olga'] } });
        await publish(herald, 'shop', 'end', 5);
      };

      it("holds back what a publication's audience and the channel's event roles keep from a user", async () => {
        await using herald = await startHerald(config);
        const operator = await open(herald, await herald.token({ sub: 'olga', roles: ['OPERATOR'] }), ['shop']);
        await publishShop(herald);
        await untilEnds(operator, ['shop']);
        assert.deepEqual(operator.received.map((r) => r.event), ['stock_alert', 'personal', 'end']);
        await operator.close();
      });

      it("gives a user with a role what the audience and the channel's event roles let through", needs('roles'), async () => {
        await using herald = await startHerald(config);
        const manager = await open(herald, await herald.token({ sub: 'mia', roles: ['STORE_MANAGER'] }), ['shop']);
        await publishShop(herald);
        await untilEnds(manager, ['shop']);
        assert.deepEqual(manager.received.map((r) => r.event), ['stock_alert', 'payment_error', 'rental_created', 'end']);
        await manager.close();
      });

      it('keeps tenants apart on channels of the same name', async () => {
        await using herald = await startHerald(config);
        const acme = await open(herald, await herald.token({ sub: 'ann', tenant: 'acme' }), ['news']);
        const globex = await open(herald, await herald.token({ sub: 'ann', tenant: 'globex' }), ['news']);
        await publish(herald, 'news', 'secret', 1, { tenant: 'acme' });
        await publish(herald, 'news', 'end', 2, { tenant: 'globex' });
        await publish(herald, 'news', 'end', 3, { tenant: 'acme' });
        await untilEnds(acme, ['news']);
        await untilEnds(globex, ['news']);
        assert.deepEqual(acme.received.map((r) => r.event), ['secret', 'end']);
        assert.deepEqual(globex.received.map((r) => r.event), ['end']);
        await Promise.all([acme.close(), globex.close()]);
      });
    });

    describe('refusals', () => {
      it('refuses a forbidden channel with a clear error', async () => {
        await using herald = await startHerald(config);
        const refused = await refusal(open(herald, await herald.token({ sub: 'ann' }), ['staff']));
        assert.equal(refused.code, expect.forbidden);
        assert.match(refused.message, /staff/);
      });

      it('admits a user with the role to the channel that needs it', needs('roles'), async () => {
        await using herald = await startHerald(config);
        const staff = await open(herald, await herald.token({ sub: 'sam', roles: ['staff'] }), ['staff']);
        await staff.close();
      });

      it('refuses a bad, forged or expired token', needs('tokens'), async () => {
        await using herald = await startHerald(config);
        const good = await herald.token({ sub: 'ann' });
        const forged = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
        for (const token of ['not-a-jwt', forged, await herald.token({ sub: 'ann' }, -60)]) {
          const refused = await refusal(open(herald, token, ['news']));
          assert.equal(refused.code, expect.unauthorized, `${token.slice(0, 12)}…: ${refused.message}`);
        }
      });
    });

    describe('recovery', () => {
      it('after a cut, gets once what is published once it is back, and what it missed where it resumes', async () => {
        await using herald = await startHerald(config);
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), ['a']);
        const before = [await publish(herald, 'a', 'tick', 1)];
        await receivedAtLeast(receiver, 1);
        await receiver.cut();
        const away = [await publish(herald, 'a', 'tick', 2)];
        await receiver.resume();
        const after = [await publish(herald, 'a', 'tick', 3), await publish(herald, 'a', 'end', 4)];
        await untilEnds(receiver, ['a']);
        const expected = skip.resume ? [...before, ...after] : [...before, ...away, ...after];
        assert.deepEqual(receiver.received.map(key), expected.map(key));
        await receiver.close();
      });

      it('resumes after a cut with no gap and no duplicate while a publisher keeps publishing', needs('resume'), async () => {
        await using herald = await startHerald(config);
        const channels = ['a', 'b'];
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), channels);
        const publisher = keepPublishing(herald, channels);
        await receivedAtLeast(receiver, 5);
        await receiver.cut();
        const at = publisher.sent.length;
        await waitFor(() => publisher.sent.length >= at + 5, 'publications while away', 5000);
        await receiver.resume();
        const back = receiver.received.length;
        await receivedAtLeast(receiver, back + 5);
        await publisher.stop();
        await untilEnds(receiver, channels);
        assertSameStream(receiver, publisher.sent, resumesAsOneStream, ids);
        assert.deepEqual(receiver.notRecovered, []);
        await receiver.close();
      });

      it('resumes after a cut that came before any publication', needs('resume'), async () => {
        await using herald = await startHerald(config);
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), ['a']);
        await receiver.cut();
        const sent = [await publish(herald, 'a', 'tick', 1), await publish(herald, 'a', 'tick', 2)];
        await receiver.resume();
        sent.push(await publish(herald, 'a', 'end', 3));
        await untilEnds(receiver, ['a']);
        assertSameStream(receiver, sent, true, ids);
        assert.deepEqual(receiver.notRecovered, []);
        await receiver.close();
      });

      it('continues from the position an earlier connection reached', needs('resume'), async () => {
        await using herald = await startHerald(config);
        const token = await herald.token({ sub: 'ann' });
        const first = await open(herald, token, ['a']);
        const sent = [await publish(herald, 'a', 'tick', 1), await publish(herald, 'a', 'tick', 2)];
        await receivedAtLeast(first, 2);
        await first.cut();
        sent.push(await publish(herald, 'a', 'tick', 3), await publish(herald, 'a', 'tick', 4));
        const second = await open(herald, token, ['a'], first.position());
        sent.push(await publish(herald, 'a', 'end', 5));
        await untilEnds(second, ['a']);
        assert.deepEqual(second.received.map(key), sent.slice(2).map(key));
        assert.deepEqual(second.notRecovered, []);
        await second.close();
      });

      it('resumes a channel exactly whose ids are out of stream order', needs('resume'), async () => {
        await using herald = await startHerald(config);
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), ['a']);
        const sent = [await publish(herald, 'a', 'tick', 1), await publishWithEarlierId(herald, 'a', 'tick', 2)];
        await receivedAtLeast(receiver, 2);
        // Cut right after the publication whose id is lower than the one before it.
        await receiver.cut();
        sent.push(await publish(herald, 'a', 'tick', 3), await publishWithEarlierId(herald, 'a', 'tick', 4));
        await receiver.resume();
        sent.push(await publish(herald, 'a', 'end', 5));
        await untilEnds(receiver, ['a']);
        assertSameStream(receiver, sent, true, ids);
        assert.deepEqual(receiver.notRecovered, []);
      });

      it('resumes every channel exactly when ids across channels are out of stream order', needs('resume'), async () => {
        await using herald = await startHerald(config);
        const channels = ['a', 'b'];
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), channels);
        const sent = [await publish(herald, 'b', 'tick', 1), await publish(herald, 'a', 'tick', 2)];
        await receivedAtLeast(receiver, 2);
        await receiver.cut();
        // Published after the last one the client got, with an id that sorts before it.
        sent.push(await publishWithEarlierId(herald, 'b', 'tick', 3), await publish(herald, 'a', 'tick', 4));
        await receiver.resume();
        sent.push(await publish(herald, 'a', 'end', 5), await publish(herald, 'b', 'end', 6));
        await untilEnds(receiver, channels);
        assertSameStream(receiver, sent, false, ids);
        assert.deepEqual(receiver.notRecovered, []);
      });

      it('resumes a publish to several channels once, wherever the cut falls', needs('resume'), async () => {
        await using herald = await startHerald(config);
        const channels = ['a', 'b'];
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), channels);
        const both = await herald.api('POST', '/api/v1/publish', { channels, event: 'both', data: { channel: 'a', n: 1 } });
        assert.equal(both.status, 200);
        await waitFor(() => receiver.received.some((r) => r.id === both.body.id), 'the publish to both', 3000);
        await receiver.cut();
        const sent = [await publish(herald, 'b', 'tick', 2)];
        await receiver.resume();
        sent.push(await publish(herald, 'a', 'end', 3), await publish(herald, 'b', 'end', 4));
        await untilEnds(receiver, channels);
        const copies = receiver.received.filter((r) => r.id === both.body.id).length;
        // Socket.IO delivers a publish to several rooms once; the others once per channel, as before the cut.
        assert.equal(copies, receiver.transport === 'socketio' ? 1 : 2);
        assert.deepEqual(receiver.received.slice(-3).map((r) => r.id).sort(), [...sent.map((s) => s.id)].sort());
        assert.deepEqual(receiver.notRecovered, []);
      });

      it('says plainly when the gap is beyond the history', needs('resume'), async () => {
        await using herald = await startHerald(config);
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), ['small']);
        await publish(herald, 'small', 'tick', 1);
        await receivedAtLeast(receiver, 1);
        await receiver.cut();
        for (let n = 2; n <= 7; n++) await publish(herald, 'small', 'tick', n);
        await receiver.resume();
        await publish(herald, 'small', 'end', 8);
        await untilEnds(receiver, ['small']);
        assert.equal(receiver.notRecovered.length, 1, JSON.stringify(receiver.notRecovered));
        assert.equal(receiver.notRecovered[0].reason, 'history_trimmed');
        const ids = receiver.received.map((r) => r.id);
        assert.equal(new Set(ids).size, ids.length);
        // What history still holds is replayed after the notice: the last 3 of 7, then the end.
        assert.deepEqual(receiver.received.map((r) => (r.data as { n: number }).n), [1, 5, 6, 7, 8]);
        await receiver.close();
      });
    });

    describe('shutdown', () => {
      it('tells the client to reconnect when the server shuts down', async () => {
        await using herald = await startHerald(config);
        const receiver = await open(herald, await herald.token({ sub: 'ann' }), ['news']);
        const ended = receiver.ended();
        await herald.close();
        assert.equal((await ended).code, expect.shutdown);
        await receiver.close();
      });
    });
  });
}
