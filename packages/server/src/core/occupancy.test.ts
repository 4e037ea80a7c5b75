import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeraldConfigInput } from '../config/schema.js';
import { recordEvents, startCluster, startNode, subscribe } from '../testing/node-fixture.js';
import { waitFor } from '../testing/wait.js';

const CONFIG: HeraldConfigInput = {
  presence: { userEvents: false },
  channels: {
    rules: [
      { pattern: 'room:*', subscribe: 'all', presence: true },
      { pattern: 'plain:*', subscribe: 'all' },
    ],
  },
};

describe('Node', () => {
  describe('occupancy', () => {
    it('is announced once in the cluster: the first subscriber on any node occupies, the last to leave vacates', async () => {
      await using cluster = await startCluster(CONFIG);
      const [a, b] = cluster.nodes;
      const onA = recordEvents(a.node.events, ['occupancy']);
      const onB = recordEvents(b.node.events, ['occupancy']);
      // A channel without presence in its rule is tracked too while occupancy has listeners.
      const clients = await Promise.all([a.connect({ sub: 'u1' }), b.connect({ sub: 'u2' }), a.connect({ sub: 'u3' }), b.connect({ sub: 'u1' })]);
      await Promise.all(clients.map((c) => subscribe(c.session, 'plain:1')));
      const all = () => [...onA, ...onB].map((e) => e.event);
      assert.deepEqual(all(), [{ action: 'occupied', tenant: 'default', channel: 'plain:1' }]);
      await Promise.all(clients.slice(0, 3).map((c) => c.session.unsubscribe('plain:1')));
      assert.equal(all().length, 1, 'not vacated while one subscriber is left');
      clients[3].link.disconnect();
      await waitFor(() => all().length === 2, 'vacated');
      assert.deepEqual(all()[1], { action: 'vacated', tenant: 'default', channel: 'plain:1' });
      assert.ok(onB.some((e) => e.name === 'occupancy' && e.event.action === 'vacated'), 'the node of the last subscriber decided the vacancy');
    });

    it('tracks nothing extra while no one listens for it', async () => {
      await using fx = await startNode(CONFIG);
      const { session } = await fx.connect({ sub: 'u1' });
      await subscribe(session, 'plain:1');
      assert.equal(await fx.node.countPresence('default:plain:1'), 0);
    });
  });

  describe('presence events', () => {
    it('tell a user’s arrival with their first connection and departure with their last, on presence channels only', async () => {
      await using fx = await startNode(CONFIG);
      const events = recordEvents(fx.node.events, ['presence']);
      const first = await fx.connect({ sub: 'ann' });
      const second = await fx.connect({ sub: 'ann' });
      await subscribe(first.session, 'room:1');
      await subscribe(second.session, 'room:1');
      await subscribe(first.session, 'plain:1');
      assert.deepEqual(events.map((e) => e.event), [{ ...first.session.ref(), action: 'join', channel: 'room:1' }]);
      await first.session.unsubscribe('room:1');
      assert.equal(events.length, 1, 'ann is still there on her second connection');
      second.link.disconnect();
      await waitFor(() => events.length === 2, 'the leave');
      assert.deepEqual(events[1].event, { ...second.session.ref(), action: 'leave', channel: 'room:1' });
    });
  });
});
