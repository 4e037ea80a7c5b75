import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, TENANT_CHANNEL } from '@herald/protocol';
import type { HeraldConfigInput } from '../config/schema.js';
import { RecordingHandler } from '../engines/engine.case.js';
import { MemoryCluster } from '../testing/memory-cluster.js';
import { heraldError, startCluster, startNode, subscribe } from '../testing/node-fixture.js';
import { waitFor } from '../testing/wait.js';
import { DISCONNECTS } from './errors.js';
import type { NodeStats } from './node.js';

const CONFIG: HeraldConfigInput = {
  channels: {
    rules: [
      { pattern: 'news', subscribe: 'all', publish: 'all', history: { size: 10, ttl: '5m' } },
      { pattern: 'project:*', subscribe: 'all', presence: true },
    ],
  },
};

describe('Node', () => {
  describe('handshake', () => {
    it('verifies the token and opens a session for the identity its claims map to', async () => {
      await using fx = await startNode(CONFIG);
      const { session } = await fx.connect({ sub: 'ann', tenant: 'acme', roles: ['agent'], name: 'Ann' });
      assert.deepEqual({ ...session.identity, expiresAt: undefined }, { userId: 'ann', tenant: 'acme', roles: ['agent'], info: { name: 'Ann' }, channels: [], expiresAt: undefined });
      assert.equal(fx.node.sessions.get(session.id), session);
      assert.deepEqual(fx.eventsOf('connect'), [session.ref()]);
    });

    it('refuses a missing, forged or expired token as unauthorized, announcing why', async () => {
      await using fx = await startNode(CONFIG);
      const where = { transport: 'test', path: '/ws' };
      const good = await fx.token({ sub: 'ann' });
      const forged = good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA');
      for (const token of [undefined, forged, await fx.token({ sub: 'ann' }, -60)]) {
        await assert.rejects(fx.node.handshake.authenticate(token, where), heraldError('unauthorized'));
      }
      assert.deepEqual(
        fx.eventsOf('denial').map((d) => [d.reason, d.detail, d.path]),
        [
          ['unauthorized', 'no token', '/ws'],
          ['unauthorized', 'token signature invalid', '/ws'],
          ['unauthorized', 'token expired', '/ws'],
        ],
      );
      assert.equal(fx.node.sessions.size, 0);
    });

    it('refuses a full tenant, but takes back a client that names the connection it replaces', async () => {
      await using fx = await startNode({ ...CONFIG, limits: { connectionsPerTenant: 2 } });
      await fx.connect({ sub: 'ann', tenant: 'acme' });
      const previous = await fx.connect({ sub: 'bob', tenant: 'acme' });
      await assert.rejects(fx.connect({ sub: 'cid', tenant: 'acme' }), heraldError('tenantFull'));
      // A replacement that names no connection of its user takes no slot either.
      await assert.rejects(fx.connect({ sub: 'bob', tenant: 'acme' }, { replaces: 'not-a-connection' }), heraldError('tenantFull'));
      assert.deepEqual(
        fx.eventsOf('denial').map((d) => [d.reason, d.tenant, d.userId]),
        [
          ['tenant_full', 'acme', 'cid'],
          ['tenant_full', 'acme', 'bob'],
        ],
      );
      await fx.connect({ sub: 'cid', tenant: 'globex' });

      const back = await fx.connect({ sub: 'bob', tenant: 'acme' }, { replaces: previous.session.id });
      await waitFor(() => previous.link.closedWith, 'the predecessor closed');
      assert.deepEqual(previous.link.closedWith, { code: CloseCode.ConnectionReplaced, reason: DISCONNECTS.replaced.reason });
      await waitFor(() => !fx.node.sessions.has(previous.session.id), 'the predecessor released');
      assert.equal(await fx.node.tenantCount('acme'), 2);
      assert.equal(back.link.closedWith, undefined);
    });

    it('closes a user’s oldest connections past the per-user limit, on whichever node they are', async () => {
      await using two = await startCluster({ ...CONFIG, limits: { connectionsPerUser: 2 } });
      const [a, b] = two.nodes;
      const oldest = await a.connect({ sub: 'ann' });
      const middle = await b.connect({ sub: 'ann' });
      const other = await a.connect({ sub: 'bob' });
      const newest = await b.connect({ sub: 'ann' });
      await waitFor(() => oldest.link.closedWith, 'the oldest closed');
      assert.equal(oldest.link.closedWith?.code, CloseCode.ConnectionReplaced);
      assert.deepEqual(a.eventsOf('eviction'), [{ ...oldest.session.ref(), code: CloseCode.ConnectionReplaced, reason: 'more than 2 connections for this user; the oldest was closed' }]);
      for (const kept of [middle, other, newest]) assert.equal(kept.link.closedWith, undefined);
    });

    it('refuses a route at its maxConnections, counted across nodes where its channel keeps presence', async () => {
      await using two = await startCluster({ ...CONFIG, routes: [{ path: '/ws/projects/{id}', channel: 'project:{id}', maxConnections: 1 }] });
      const [a, b] = two.nodes;
      const first = await a.connect({ sub: 'ann' });
      await subscribe(first.session, 'project:7');
      const route = b.config.routes[0];
      const { session } = await b.connect({ sub: 'bob' });
      const options = { transport: 'test', path: '/ws/projects/7' };
      await assert.rejects(b.node.handshake.checkRoute(session.identity, { ...options, routeLimit: { route, channel: 'project:7' } }), heraldError('routeFull'));
      assert.deepEqual(b.eventsOf('denial'), [{ reason: 'route_full', transport: 'test', tenant: 'default', userId: 'bob', path: '/ws/projects/7' }]);
      await b.node.handshake.checkRoute(session.identity, { ...options, routeLimit: { route, channel: 'project:8' } });
    });

    it('leaves nothing behind when a session cannot open because the engine cannot subscribe it', async () => {
      const engine = new MemoryCluster().engine();
      await using fx = await startNode({ ...CONFIG, limits: { connectionsPerTenant: 1 } }, engine);
      engine.interrupt();
      await assert.rejects(fx.connect({ sub: 'ann' }), heraldError('unavailable'));
      assert.equal(fx.node.sessions.size, 0);
      assert.equal(await fx.node.tenantCount('default'), 0);
      assert.deepEqual(fx.eventsOf('connect'), []);
      engine.resume();
      // The tenant's one place is free, and its channel is tried at the engine again.
      const { session } = await fx.connect({ sub: 'ann' });
      assert.deepEqual([...fx.node.sessions.keys()], [session.id]);
    });

    it('closes every connection with 1012 at shutdown and refuses new ones', async () => {
      await using fx = await startNode(CONFIG);
      const { link } = await fx.connect({ sub: 'ann' });
      const identity = await fx.node.handshake.authenticate(await fx.token({ sub: 'bob' }), { transport: 'test' });
      await fx.node.shutdown();
      assert.deepEqual(link.closedWith, { code: CloseCode.ServiceRestart, reason: DISCONNECTS.shutdown.reason });
      await assert.rejects(fx.node.handshake.admit(identity, { transport: 'test' }), heraldError('unavailable'));
      await assert.rejects(fx.node.handshake.open(identity, link), heraldError('unavailable'));
    });

    it('closes a connection whose token expires with 4002', async () => {
      await using fx = await startNode({ ...CONFIG, auth: { jwt: { clockTolerance: 0 } } });
      const { session, link } = await fx.connect({ sub: 'ann' }, { ttlSeconds: 1 });
      await waitFor(() => link.closedWith, 'the close', 3000);
      assert.deepEqual(link.closedWith, { code: CloseCode.TokenExpired, reason: DISCONNECTS.tokenExpired.reason });
      await waitFor(() => fx.eventsOf('disconnect').length === 1, 'the disconnect');
      assert.deepEqual(fx.eventsOf('eviction'), [{ ...session.ref(), code: CloseCode.TokenExpired, reason: DISCONNECTS.tokenExpired.reason }]);
    });
  });

  describe('lifecycle bus', () => {
    it('announces a connection’s life in order: connect, subscribe, publish, unsubscribe, disconnect with its code', async () => {
      await using fx = await startNode({ ...CONFIG, presence: { userEvents: false } });
      const { session, link } = await fx.connect({ sub: 'ann' });
      await subscribe(session, 'news');
      const { id } = await session.publish('news', 'note', {});
      await session.unsubscribe('news');
      link.disconnect(1001);
      await waitFor(() => fx.eventsOf('disconnect').length === 1, 'the disconnect');
      const ref = session.ref();
      assert.deepEqual(fx.events, [
        { name: 'connect', event: ref },
        { name: 'subscribe', event: { ...ref, channel: 'news' } },
        { name: 'publish', event: { source: 'client', tenant: 'default', channels: ['news'], event: 'note', id, duplicate: false, data: {}, publisher: { userId: 'ann' } } },
        { name: 'unsubscribe', event: { ...ref, channel: 'news' } },
        { name: 'disconnect', event: { ...ref, code: 1001 } },
      ]);
      assert.equal(fx.node.sessions.size, 0);
    });

    it('tells the tenant’s other connections when a user comes online and goes offline, never the user', async () => {
      await using fx = await startNode(CONFIG);
      const watcher = await fx.connect({ sub: 'watcher' });
      const elsewhere = await fx.connect({ sub: 'watcher', tenant: 'globex' });
      const ann = await fx.connect({ sub: 'ann', roles: ['agent'], name: 'Ann' });
      const annAgain = await fx.connect({ sub: 'ann', roles: ['agent'], name: 'Ann' });
      await waitFor(() => watcher.link.publications(TENANT_CHANNEL).length === 1, 'user:online');
      ann.link.disconnect();
      annAgain.link.disconnect();
      await waitFor(() => watcher.link.publications(TENANT_CHANNEL).length === 2, 'user:offline');
      const about = { userId: 'ann', name: 'Ann', role: 'agent', roles: ['agent'] };
      assert.deepEqual(watcher.link.publications(TENANT_CHANNEL).map((p) => [p.event, p.data]), [
        ['user:online', about],
        ['user:offline', about],
      ]);
      assert.deepEqual(ann.link.publications(TENANT_CHANNEL).filter((p) => (p.data as { userId: string }).userId === 'ann'), []);
      assert.deepEqual(elsewhere.link.publications(), []);
    });
  });

  describe('#disconnect', () => {
    it('closes a user’s connections on every node with the code given', async () => {
      await using two = await startCluster(CONFIG);
      const [a, b] = two.nodes;
      const onA = await a.connect({ sub: 'ann' });
      const onB = await b.connect({ sub: 'ann' });
      const bob = await b.connect({ sub: 'bob' });
      assert.equal(await a.node.disconnect('default', 'ann', DISCONNECTS.byOperator.close, 'bye'), 1);
      for (const c of [onA, onB]) await waitFor(() => c.link.closedWith, 'the close');
      for (const c of [onA, onB]) assert.deepEqual(c.link.closedWith, { code: CloseCode.DisconnectedByServer, reason: 'bye' });
      assert.deepEqual(b.eventsOf('eviction'), [{ ...onB.session.ref(), code: CloseCode.DisconnectedByServer, reason: 'bye' }]);
      assert.equal(bob.link.closedWith, undefined);
    });
  });

  describe('across nodes', () => {
    it('delivers a publication made on one node to the subscribers on the other, in order', async () => {
      await using two = await startCluster(CONFIG);
      const [a, b] = two.nodes;
      const onA = await a.connect({ sub: 'ann' });
      const onB = await b.connect({ sub: 'bob' });
      const idle = await b.connect({ sub: 'cid' });
      await subscribe(onA.session, 'news');
      await subscribe(onB.session, 'news');
      for (const i of [1, 2, 3, 4, 5]) await a.node.publish('default', { channels: ['news'], event: 'e', data: i }, 'api');
      await waitFor(() => onB.link.data('news').length === 5, 'five on b');
      assert.deepEqual(onB.link.data('news'), [1, 2, 3, 4, 5]);
      assert.deepEqual(onA.link.data('news'), [1, 2, 3, 4, 5]);
      assert.deepEqual(idle.link.publications('news'), []);
    });

    it('answers stats with every node’s figures', async () => {
      await using two = await startCluster(CONFIG);
      const [a, b] = two.nodes;
      await a.connect({ sub: 'ann' });
      const bob = await b.connect({ sub: 'bob' });
      await subscribe(bob.session, 'news');
      await b.connect({ sub: 'ann' });
      const { answers, nodes, complete } = await a.node.cluster.ask<NodeStats>({ kind: 'stats' }, 2000);
      assert.deepEqual({ nodes, complete }, { nodes: 2, complete: true });
      assert.deepEqual(answers.map((x) => x.node).sort(), [a.node.cluster.nodeId, b.node.cluster.nodeId].sort());
      const fromB = answers.find((x) => x.node === b.node.cluster.nodeId)!.answer;
      assert.deepEqual(fromB.connections, { total: 2, users: 2, byTransport: { test: 2 }, byTenant: { default: 2 } });
      assert.deepEqual(fromB.rooms, [{ tenant: 'default', channel: 'news', subscribers: 1 }]);
      assert.deepEqual([...new Set(answers.flatMap((x) => x.answer.userKeys))].sort(), ['default:ann', 'default:bob']);
    });

    it('gives up on a node that does not answer after the timeout, saying the answers are incomplete', async () => {
      await using two = await startCluster(CONFIG);
      const [a, b] = two.nodes;
      // A node on the bus that never answers (hung, or not a Herald node).
      const silent = two.memory.engine();
      await silent.start(new RecordingHandler());
      try {
        const started = Date.now();
        const { answers, nodes, complete } = await a.node.cluster.ask<NodeStats>({ kind: 'stats' }, 300);
        const took = Date.now() - started;
        assert.deepEqual({ nodes, complete, answered: answers.length }, { nodes: 3, complete: false, answered: 2 });
        assert.ok(took >= 290 && took < 2000, `answered after ${took} ms`);
      } finally {
        await silent.close();
      }
    });
  });
});
