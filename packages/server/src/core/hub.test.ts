import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeraldConfigInput } from '../config/schema.js';
import { channelKey } from '../engine.js';
import { MemoryCluster } from '../testing/memory-cluster.js';
import { heraldError, startNode, subscribe, type Connection, type NodeFixture } from '../testing/node-fixture.js';
import { waitFor } from '../testing/wait.js';

const CONFIG: HeraldConfigInput = {
  presence: { userEvents: false },
  channels: {
    rules: [
      { pattern: 'news', subscribe: 'all', history: { size: 10, ttl: '5m' } },
      { pattern: 'desk', subscribe: 'all', eventRoles: { 'salary:changed': ['director'] } },
    ],
  },
};

const publish = (fx: NodeFixture, tenant: string, channel: string, event: string, extra: { audience?: { roles?: string[]; users?: string[] } } = {}) =>
  fx.node.publish(tenant, { channels: [channel], event, data: { event }, ...extra }, 'api');

const events = (c: Connection, channel: string) => c.link.publications(channel).map((p) => p.event);

describe('Hub', () => {
  describe('#deliver', () => {
    it('fans a publication out to the channel’s subscribers of its tenant only', async () => {
      await using fx = await startNode(CONFIG);
      const a1 = await fx.connect({ sub: 'u1', tenant: 'acme' });
      const a2 = await fx.connect({ sub: 'u2', tenant: 'acme' });
      const aIdle = await fx.connect({ sub: 'u3', tenant: 'acme' });
      const b1 = await fx.connect({ sub: 'u1', tenant: 'globex' });
      for (const c of [a1, a2, b1]) await subscribe(c.session, 'news');
      const deliveries: number[] = [];
      fx.node.events.on('delivery', (e) => deliveries.push(e.delivered));

      await publish(fx, 'acme', 'news', 'for-acme');
      await publish(fx, 'globex', 'news', 'for-globex');
      assert.deepEqual(events(a1, 'news'), ['for-acme']);
      assert.deepEqual(events(a2, 'news'), ['for-acme']);
      assert.deepEqual(events(b1, 'news'), ['for-globex']);
      assert.deepEqual(aIdle.link.publications(), []);
      assert.deepEqual(deliveries, [2, 1]);
      // One object for every subscriber: each wire format encodes it once, whatever the number of links.
      assert.equal(a1.link.sent[0], a2.link.sent[0]);
    });

    it('narrows a publication to its audience: the roles or users it names', async () => {
      await using fx = await startNode(CONFIG);
      const director = await fx.connect({ sub: 'dana', roles: ['director'] });
      const operator = await fx.connect({ sub: 'oleg', roles: ['operator'] });
      const named = await fx.connect({ sub: 'nina', roles: ['operator'] });
      for (const c of [director, operator, named]) await subscribe(c.session, 'news');

      await publish(fx, 'default', 'news', 'to-directors', { audience: { roles: ['director'] } });
      await publish(fx, 'default', 'news', 'to-nina', { audience: { users: ['nina'] } });
      await publish(fx, 'default', 'news', 'to-either', { audience: { roles: ['director'], users: ['nina'] } });
      await publish(fx, 'default', 'news', 'to-all');
      assert.deepEqual(events(director, 'news'), ['to-directors', 'to-either', 'to-all']);
      assert.deepEqual(events(operator, 'news'), ['to-all']);
      assert.deepEqual(events(named, 'news'), ['to-nina', 'to-either', 'to-all']);
    });

    it('withholds the events a channel’s eventRoles keep for some roles', async () => {
      await using fx = await startNode(CONFIG);
      const director = await fx.connect({ sub: 'dana', roles: ['director'] });
      const operator = await fx.connect({ sub: 'oleg', roles: ['operator'] });
      for (const c of [director, operator]) await subscribe(c.session, 'desk');
      await publish(fx, 'default', 'desk', 'salary:changed');
      await publish(fx, 'default', 'desk', 'shift:changed');
      assert.deepEqual(events(director, 'desk'), ['salary:changed', 'shift:changed']);
      assert.deepEqual(events(operator, 'desk'), ['shift:changed']);
    });

    it('checks each subscriber for a narrowed publication and none for an open one, publication by publication', async () => {
      await using fx = await startNode(CONFIG);
      const director = await fx.connect({ sub: 'dana', roles: ['director'] });
      const operator = await fx.connect({ sub: 'oleg', roles: ['operator'] });
      const both = await fx.connect({ sub: 'bea', roles: ['director', 'operator'] });
      for (const c of [director, operator, both]) await subscribe(c.session, 'desk');
      await publish(fx, 'default', 'desk', 'shift:changed');
      await publish(fx, 'default', 'desk', 'shift:changed', { audience: { roles: ['operator'] } });
      await publish(fx, 'default', 'desk', 'salary:changed', { audience: { users: ['oleg', 'bea'] } });
      await publish(fx, 'default', 'desk', 'salary:changed');
      await publish(fx, 'default', 'desk', 'shift:changed');
      assert.deepEqual(events(director, 'desk'), ['shift:changed', 'salary:changed', 'shift:changed']);
      // The audience admits oleg, but salary:changed is for directors: both must hold.
      assert.deepEqual(events(operator, 'desk'), ['shift:changed', 'shift:changed', 'shift:changed']);
      assert.deepEqual(events(both, 'desk'), ['shift:changed', 'shift:changed', 'salary:changed', 'salary:changed', 'shift:changed']);
    });
  });

  describe('joins and leaves', () => {
    it('go to the channel’s other subscribers, never to the user who came or went, even when they arrive after the subscribe', async () => {
      // Over the cluster's bus a join arrives after the subscribe that caused it, as across nodes.
      const engine = new MemoryCluster().engine();
      await using fx = await startNode({ ...CONFIG, channels: { rules: [{ pattern: 'room', subscribe: 'all', presence: true, joinLeave: true }] } }, engine);
      const watcher = await fx.connect({ sub: 'watcher' });
      await subscribe(watcher.session, 'room');
      const ann = await fx.connect({ sub: 'ann' });
      await subscribe(ann.session, 'room');
      await waitFor(() => watcher.link.joinLeaves.length === 1, 'the join');
      const annAgain = await fx.connect({ sub: 'ann' });
      await subscribe(annAgain.session, 'room');
      watcher.link.disconnect();
      await waitFor(async () => (await fx.node.listPresence(channelKey('default', 'room'))).length === 1, 'the watcher gone');
      await waitFor(() => ann.link.joinLeaves.length === 1, 'the leave');
      assert.deepEqual(watcher.link.joinLeaves.map((j) => [j.kind, j.user.userId]), [['join', 'ann']]);
      for (const c of [ann, annAgain]) assert.deepEqual(c.link.joinLeaves.map((j) => [j.kind, j.user.userId]), [['leave', 'watcher']]);
    });
  });

  describe('#attach and #detach', () => {
    it('subscribes the node at the engine on a channel’s first local subscriber and unsubscribes on its last', async () => {
      const engine = new MemoryCluster().engine();
      await using fx = await startNode(CONFIG, engine);
      const key = channelKey('default', 'news');
      const first = await fx.connect({ sub: 'u1' });
      const second = await fx.connect({ sub: 'u2' });
      await subscribe(first.session, 'news');
      await subscribe(second.session, 'news');
      assert.ok(engine.subscribed.has(key));
      assert.equal(fx.node.hub.localSubscribers('default', 'news'), 2);
      assert.deepEqual(fx.node.roomStats().rooms, [{ tenant: 'default', channel: 'news', subscribers: 2 }]);

      await first.session.unsubscribe('news');
      assert.ok(engine.subscribed.has(key), 'a subscriber is left');
      second.link.disconnect();
      await waitFor(() => !engine.subscribed.has(key), 'the engine unsubscribed');
      assert.deepEqual(fx.node.roomStats(), { total: 0, rooms: [] });
    });

    it('rolls back a channel the engine could not subscribe, so that the next subscribe tries again', async () => {
      const engine = new MemoryCluster().engine();
      await using fx = await startNode(CONFIG, engine);
      const { session, link } = await fx.connect({ sub: 'u1' });
      engine.interrupt();
      await assert.rejects(session.subscribe('news'), heraldError('subscribeUnavailable'));
      assert.equal(session.subscriptions.size, 0);
      assert.equal(fx.node.hub.localSubscribers('default', 'news'), 0);
      assert.equal(link.closedWith, undefined, 'the connection stays');

      engine.resume();
      await subscribe(session, 'news');
      assert.ok(engine.subscribed.has(channelKey('default', 'news')));
      await publish(fx, 'default', 'news', 'after');
      await waitFor(() => link.publications('news').length === 1, 'the publication');
    });
  });
});
