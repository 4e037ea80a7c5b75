import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import type { HeraldConfigInput } from '../config/schema.js';
import { heraldError, startNode, subscribe, type NodeFixture } from '../testing/node-fixture.js';
import { RecordingLink } from '../testing/recording-link.js';
import { waitFor } from '../testing/wait.js';

const TENANT = 'default';

const CONFIG: HeraldConfigInput = {
  limits: { subscriptionsPerConnection: 3 },
  channels: {
    rules: [
      { pattern: 'open:*', subscribe: 'all', publish: 'all', history: { size: 100, ttl: '5m' }, presence: true, joinLeave: true },
      { pattern: 'short:*', subscribe: 'all', history: { size: 2, ttl: '5m' } },
      { pattern: 'staff', subscribe: { roles: ['staff'] } },
      { pattern: 'room:*', subscribe: 'all', maxSubscribers: 1 },
      { pattern: 'doc:*', subscribe: 'all', publish: 'all', locks: { ttl: '1500ms' }, signals: { 'edit:start': 'edit:end' } },
    ],
  },
};

const publish = (fx: NodeFixture, channel: string, data: unknown, event = 'e') => fx.node.publish(TENANT, { channels: [channel], event, data }, 'api');

async function publishEach(fx: NodeFixture, channel: string, values: number[]): Promise<void> {
  for (const i of values) await publish(fx, channel, i);
}

describe('Session', () => {
  describe('#subscribe', () => {
    it('answers with the stream position, then delivers what is published after', async () => {
      await using fx = await startNode(CONFIG);
      await publishEach(fx, 'open:a', [1, 2]);
      const { session, link } = await fx.connect({ sub: 'u1' });
      const result = await subscribe(session, 'open:a');
      assert.equal(result.offset, 2);
      assert.equal(typeof result.epoch, 'string');
      assert.equal(result.recovery, undefined);
      await publishEach(fx, 'open:a', [3]);
      assert.deepEqual(link.data('open:a'), [3]);
      assert.deepEqual(fx.eventsOf('subscribe'), [{ ...session.ref(), channel: 'open:a' }]);
    });

    it('refuses a channel its rule does not allow this identity, as forbidden, and announces the denial', async () => {
      await using fx = await startNode(CONFIG);
      const { session } = await fx.connect({ sub: 'u1', roles: ['agent'] });
      await assert.rejects(session.subscribe('staff'), heraldError('forbidden'));
      // No rule matches: unmatched channels are denied.
      await assert.rejects(session.subscribe('nowhere'), heraldError('forbidden'));
      assert.deepEqual(fx.eventsOf('denial'), [
        { reason: 'subscribe_forbidden', ...session.ref(), channel: 'staff' },
        { reason: 'subscribe_forbidden', ...session.ref(), channel: 'nowhere' },
      ]);
      assert.equal(session.subscriptions.size, 0);
      const staff = await fx.connect({ sub: 'u2', roles: ['staff'] });
      await subscribe(staff.session, 'staff');
    });

    it('refuses a bad name, a second subscribe to one channel and one past the connection’s limit', async () => {
      await using fx = await startNode(CONFIG);
      const { session } = await fx.connect({ sub: 'u1' });
      await assert.rejects(session.subscribe('$reserved'), heraldError('invalidChannel'));
      await subscribe(session, 'open:a');
      await assert.rejects(session.subscribe('open:a'), heraldError('alreadySubscribed'));
      await subscribe(session, 'open:b');
      await subscribe(session, 'open:c');
      await assert.rejects(session.subscribe('open:d'), heraldError('limitExceeded'));
      assert.deepEqual([...session.subscriptions.keys()], ['open:a', 'open:b', 'open:c']);
    });

    it('refuses a channel at its maxSubscribers, announcing channel_full, until a place is free', async () => {
      await using fx = await startNode(CONFIG);
      const first = await fx.connect({ sub: 'u1' });
      const second = await fx.connect({ sub: 'u2' });
      await subscribe(first.session, 'room:1');
      await assert.rejects(second.session.subscribe('room:1'), heraldError('channelFull'));
      assert.deepEqual(fx.eventsOf('denial'), [{ reason: 'channel_full', ...second.session.ref(), channel: 'room:1' }]);
      await first.session.unsubscribe('room:1');
      await subscribe(second.session, 'room:1');
    });

    it('holds what is published while the subscribe is pending and sends it after the replay, once, in order', async () => {
      await using fx = await startNode(CONFIG);
      await publishEach(fx, 'open:a', [1, 2, 3]);
      const { session, link } = await fx.connect({ sub: 'u1' });
      const { epoch } = await fx.node.channelHistory(TENANT, undefined, 'open:a', { limit: 0 });
      const pending = await session.subscribe('open:a', { epoch, offset: 1 });
      await publishEach(fx, 'open:a', [4, 5]);
      assert.deepEqual(link.data('open:a'), [], 'nothing before the reply');
      assert.deepEqual(pending.result.recovery, { recovered: true, replayed: 2 });
      pending.flush();
      await publishEach(fx, 'open:a', [6]);
      assert.deepEqual(link.data('open:a'), [2, 3, 4, 5, 6]);
    });
  });

  describe('#unsubscribe', () => {
    it('stops delivery and announces it; a channel not subscribed is refused', async () => {
      await using fx = await startNode(CONFIG);
      const { session, link } = await fx.connect({ sub: 'u1' });
      await subscribe(session, 'open:a');
      await publishEach(fx, 'open:a', [1]);
      await session.unsubscribe('open:a');
      await publishEach(fx, 'open:a', [2]);
      assert.deepEqual(link.data('open:a'), [1]);
      assert.deepEqual(fx.eventsOf('unsubscribe'), [{ ...session.ref(), channel: 'open:a' }]);
      await assert.rejects(session.unsubscribe('open:a'), heraldError('notSubscribed'));
    });
  });

  describe('recovery', () => {
    it('resumes from a position: what was missed, in order, then live publications', async () => {
      await using fx = await startNode(CONFIG);
      const { session: before, link: beforeLink } = await fx.connect({ sub: 'u1' });
      const { epoch } = await subscribe(before, 'open:a');
      await publishEach(fx, 'open:a', [1, 2]);
      const last = beforeLink.publications('open:a').at(-1)!;
      beforeLink.disconnect();
      await publishEach(fx, 'open:a', [3, 4, 5]);

      const { session, link } = await fx.connect({ sub: 'u1' });
      const result = await subscribe(session, 'open:a', { epoch, offset: last.offset });
      assert.deepEqual(result.recovery, { recovered: true, replayed: 3 });
      await publishEach(fx, 'open:a', [6]);
      assert.deepEqual(link.data('open:a'), [3, 4, 5, 6]);
    });

    it('says the epoch changed when the position is of another stream, and replays nothing', async () => {
      await using fx = await startNode(CONFIG);
      await publishEach(fx, 'open:a', [1, 2]);
      const { session, link } = await fx.connect({ sub: 'u1' });
      const result = await subscribe(session, 'open:a', { epoch: 'gone-epoch', offset: 1 });
      assert.deepEqual(result.recovery, { recovered: false, reason: 'epoch_changed', replayed: 0 });
      assert.equal(result.offset, 2);
      assert.deepEqual(link.data('open:a'), []);
    });

    it('replays what history still keeps and reports the offsets it no longer has', async () => {
      await using fx = await startNode(CONFIG);
      await publishEach(fx, 'short:a', [1]);
      const { epoch } = await fx.node.channelHistory(TENANT, undefined, 'short:a', {});
      await publishEach(fx, 'short:a', [2, 3, 4, 5]);
      const { session, link } = await fx.connect({ sub: 'u1' });
      const result = await subscribe(session, 'short:a', { epoch, offset: 1 });
      assert.deepEqual(result.recovery, { recovered: false, reason: 'history_trimmed', replayed: 2, missing: { from: 2, to: 3 } });
      assert.deepEqual(link.data('short:a'), [4, 5]);
    });
  });

  describe('#publish', () => {
    it('publishes where the rule lets the client, and refuses elsewhere with a denial', async () => {
      await using fx = await startNode(CONFIG);
      const { session } = await fx.connect({ sub: 'u1', roles: ['staff'] });
      const reader = await fx.connect({ sub: 'u2' });
      await subscribe(reader.session, 'open:a');
      const sent = await session.publish('open:a', 'note', { text: 'hi' });
      assert.equal(sent.offset, 1);
      assert.deepEqual(reader.link.publications('open:a').map((p) => ({ id: p.id, event: p.event, data: p.data })), [{ id: sent.id, event: 'note', data: { text: 'hi' } }]);
      assert.deepEqual(fx.eventsOf('publish').filter((e) => e.source === 'client'), [
        { source: 'client', tenant: TENANT, channels: ['open:a'], event: 'note', id: sent.id, duplicate: false, data: { text: 'hi' }, publisher: { userId: 'u1' } },
      ]);

      // `staff` keeps the default: no client publishes, whatever its roles.
      await assert.rejects(session.publish('staff', 'note', {}), heraldError('forbidden'));
      assert.deepEqual(fx.eventsOf('denial'), [{ reason: 'publish_forbidden', ...session.ref(), channel: 'staff' }]);
      await assert.rejects(session.publish('open:a', 'bad\nevent', {}), heraldError('badRequest'));
      await assert.rejects(session.publish('$reserved', 'note', {}), heraldError('invalidChannel'));
    });
  });

  describe('presence', () => {
    it('tells the others when a user arrives and leaves, never the user; lists who is there', async () => {
      await using fx = await startNode(CONFIG);
      const watcher = await fx.connect({ sub: 'watcher' });
      await subscribe(watcher.session, 'open:a');
      const ann = await fx.connect({ sub: 'ann', name: 'Ann' });
      await subscribe(ann.session, 'open:a');
      // A second connection of the same user is no new arrival.
      const annAgain = await fx.connect({ sub: 'ann', name: 'Ann' });
      await subscribe(annAgain.session, 'open:a');
      const present = await watcher.session.presence('open:a');
      assert.deepEqual(present.users.sort((x, y) => x.userId.localeCompare(y.userId)), [
        { userId: 'ann', connections: 2, info: { name: 'Ann' } },
        { userId: 'watcher', connections: 1 },
      ]);
      ann.link.disconnect();
      await waitFor(async () => (await watcher.session.presence('open:a')).users.find((u) => u.userId === 'ann')?.connections === 1, 'one connection of ann left');
      annAgain.link.disconnect();
      await waitFor(() => watcher.link.joinLeaves.length === 2, 'the leave');
      assert.deepEqual(watcher.link.joinLeaves, [
        { kind: 'join', channel: 'open:a', user: { userId: 'ann', connections: 1, info: { name: 'Ann' } } },
        { kind: 'leave', channel: 'open:a', user: { userId: 'ann', connections: 0, info: { name: 'Ann' } } },
      ]);
      assert.deepEqual(ann.link.joinLeaves, []);
      await assert.rejects(watcher.session.presence('short:a'), heraldError('badRequest'));
    });
  });

  describe('locks', () => {
    it('takes a free lock, tells others who holds it, and releases it when its holder disconnects', async () => {
      await using fx = await startNode(CONFIG);
      const ann = await fx.connect({ sub: 'ann', name: 'Ann' });
      const bob = await fx.connect({ sub: 'bob' });
      await subscribe(bob.session, 'doc:1');
      const taken = await ann.session.lock('doc:1', 'title');
      assert.equal(taken.acquired, true);
      const refused = await bob.session.lock('doc:1', 'title');
      assert.deepEqual(refused, { acquired: false, holder: { userId: 'ann', info: { name: 'Ann' } }, expiresAt: taken.expiresAt });

      ann.link.disconnect();
      await waitFor(() => bob.link.publications('doc:1').length === 2, 'lock:released');
      assert.deepEqual(
        bob.link.publications('doc:1').map((p) => [p.event, p.data]),
        [
          ['lock:acquired', { name: 'title', userId: 'ann', info: { name: 'Ann' }, expiresAt: taken.expiresAt }],
          ['lock:released', { name: 'title', userId: 'ann', reason: 'disconnected' }],
        ],
      );
      const base = { tenant: TENANT, channel: 'doc:1', name: 'title', connectionId: ann.session.id, userId: 'ann' };
      assert.deepEqual(fx.eventsOf('lock'), [
        { action: 'acquired', ...base },
        { action: 'released', ...base, reason: 'disconnected' },
      ]);
      assert.equal((await bob.session.lock('doc:1', 'title')).acquired, true);
      await assert.rejects(bob.session.lock('open:a', 'title'), heraldError('badRequest'));
    });

    it('is refreshed by the node while its holder stays, and released on unlock', async () => {
      await using fx = await startNode(CONFIG);
      const ann = await fx.connect({ sub: 'ann' });
      const taken = await ann.session.lock('doc:1', 'title');
      // The node's one-second tick refreshes a lock a third of its TTL (1.5 s) after it was taken.
      await waitFor(() => fx.eventsOf('lock').some((e) => e.action === 'refreshed'), 'the refresh', 3000);
      const bob = await fx.connect({ sub: 'bob' });
      const seen = await bob.session.lock('doc:1', 'title');
      assert.equal(seen.acquired, false);
      assert.ok(seen.expiresAt > taken.expiresAt, 'the refresh extended the lock');
      assert.deepEqual(await ann.session.unlock('doc:1', 'title'), { released: true });
      assert.deepEqual(await ann.session.unlock('doc:1', 'title'), { released: false });
      assert.equal((await bob.session.lock('doc:1', 'title')).acquired, true);
    });
  });

  describe('signals', () => {
    it('publishes the end event of a signal its connection started and did not end', async () => {
      await using fx = await startNode(CONFIG);
      const watcher = await fx.connect({ sub: 'watcher' });
      await subscribe(watcher.session, 'doc:1');
      const ann = await fx.connect({ sub: 'ann' });
      await ann.session.publish('doc:1', 'edit:start', { field: 'title' });
      ann.link.disconnect();
      await waitFor(() => watcher.link.publications('doc:1').length === 2, 'the end event');
      assert.deepEqual(watcher.link.publications('doc:1').map((p) => [p.event, p.data]), [
        ['edit:start', { field: 'title' }],
        ['edit:end', { field: 'title', userId: 'ann', reason: 'disconnected' }],
      ]);
    });
  });

  describe('#refresh', () => {
    it('takes a new token of the same user and tenant only', async () => {
      await using fx = await startNode(CONFIG);
      const { session } = await fx.connect({ sub: 'u1', roles: ['agent'] });
      const answer = await session.refresh(await fx.token({ sub: 'u1', roles: ['staff'] }, 60));
      assert.ok(answer.expiresAt! > Date.now());
      assert.deepEqual(session.identity.roles, ['staff']);
      await assert.rejects(session.refresh(await fx.token({ sub: 'u2' })), heraldError('unauthorized'));
      await assert.rejects(session.refresh(await fx.token({ sub: 'u1', tenant: 'other' })), heraldError('unauthorized'));
      await assert.rejects(session.refresh('not-a-token'), heraldError('unauthorized'));
    });
  });

  describe('limits', () => {
    it('refuses messages past the rate allowance and announces it', async () => {
      await using fx = await startNode({ ...CONFIG, limits: { messageRate: { perSecond: 0.01, burst: 2 } } });
      const { session } = await fx.connect({ sub: 'u1' });
      assert.deepEqual([session.allowMessage(), session.allowMessage(), session.allowMessage()], [true, true, false]);
      assert.deepEqual(fx.eventsOf('denial'), [{ reason: 'rate_limited', ...session.ref() }]);
    });

    it('closes a slow consumer with 4006, announcing the denial and the eviction', async () => {
      await using fx = await startNode(CONFIG);
      const { session, link } = await fx.connect({ sub: 'u1' }, { link: new RecordingLink(2) });
      await subscribe(session, 'open:a');
      await publishEach(fx, 'open:a', [1, 2, 3, 4]);
      assert.deepEqual(link.data('open:a'), [1, 2]);
      assert.equal(link.closedWith?.code, CloseCode.SlowConsumer);
      await waitFor(() => fx.eventsOf('disconnect').length === 1, 'the disconnect');
      assert.deepEqual(fx.eventsOf('denial'), [{ reason: 'slow_consumer', ...session.ref() }]);
      assert.deepEqual(fx.eventsOf('eviction'), [{ ...session.ref(), code: CloseCode.SlowConsumer, reason: link.closedWith?.reason }]);
      assert.deepEqual(fx.eventsOf('disconnect'), [{ ...session.ref(), code: CloseCode.SlowConsumer }]);
    });

    it('closes a connection as too slow when a pending subscribe holds more than 10,000 publications', async () => {
      await using fx = await startNode({ ...CONFIG, limits: { maxDataBytes: 1024 } });
      const { session, link } = await fx.connect({ sub: 'u1' });
      await session.subscribe('open:a');
      for (let i = 1; i <= 10_000; i++) await publish(fx, 'open:a', i);
      const closed = () => link.closedWith;
      assert.equal(closed(), undefined, 'ten thousand are held');
      await publish(fx, 'open:a', 10_001);
      assert.equal(closed()?.code, CloseCode.SlowConsumer);
    });
  });
});
