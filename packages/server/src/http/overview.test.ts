import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { startHerald, TEST_API_KEY } from '../testing/herald-fixture.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('HTTP overview', () => {
  describe('GET /api/v1/stats', () => {
    it('counts publications and deliveries, in totals and per second, with the nodes and their engine', async () => {
      // No user:online publications: only the test's own are counted.
      await using herald = await startHerald({ presence: { userEvents: false } });
      const readers = [];
      for (const sub of ['ann', 'bob']) {
        const c = await connectClient(herald.wsUrl, await herald.token({ sub }));
        await c.request({ type: 'subscribe', channel: 'news' });
        readers.push(c);
      }
      for (let i = 0; i < 3; i++) await herald.api('POST', '/api/v1/publish', { channel: 'news', event: 'e' });
      for (const r of readers) await r.next(() => r.pubs('news').length === 3);
      const { status, body } = await herald.api('GET', '/api/v1/stats');
      assert.equal(status, 200);
      assert.deepEqual([body.scope, body.nodes, body.answered, body.channels], ['cluster', 1, 1, 1]);
      assert.deepEqual(body.connections, { total: 2, users: 2, byTransport: { websocket: 2 }, byTenant: { default: 2 } });
      const [self] = body.nodeList;
      assert.deepEqual({ ...self, startedAt: 0, engineMs: 0 }, { id: herald.server.node.cluster.nodeId, self: true, engine: 'memory', accepting: true, engineReady: true, connections: 2, startedAt: 0, engineMs: 0 });
      assert.ok(self.engineMs >= 0 && self.engineMs < 1000);
      const f = body.figures;
      assert.deepEqual([f.publications, f.deliveries], [3, 6]);
      assert.equal(f.series.publications.length, 300);
      assert.deepEqual([sum(f.series.publications), sum(f.series.deliveries)], [3, 6]);
      assert.ok(Math.abs(f.series.start + 299 - Math.floor(Date.now() / 1000)) <= 1, 'the series ends now');
      for (const r of readers) r.close();
    });

    it('counts denials by reason and server closes by code', async () => {
      await using herald = await startHerald();
      const refused = new TestClient(`${herald.wsUrl}/ws?token=not-a-jwt`);
      await refused.closed;
      const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
      await herald.api('POST', '/api/v1/users/bob/disconnect', {});
      assert.equal((await bob.closed).code, CloseCode.DisconnectedByServer);
      const { body } = await herald.api('GET', '/api/v1/stats?scope=node');
      assert.equal(body.scope, 'node');
      assert.equal(body.nodeList[0].engineMs, undefined, 'no round trip without a cluster question');
      assert.deepEqual(body.figures.denials, { unauthorized: 1 });
      assert.deepEqual(body.figures.closes, { [CloseCode.DisconnectedByServer]: 1 });
    });

    it('shows a node that is shutting down as not accepting', async () => {
      await using herald = await startHerald();
      await herald.server.node.shutdown();
      const { body } = await herald.api('GET', '/api/v1/stats');
      assert.equal(body.nodeList[0].accepting, false);
    });

    it('shows a tenant-bound key its tenant only, without node-wide figures', async () => {
      await using herald = await startHerald({ api: { keys: [{ key: TEST_API_KEY, tenant: 'a' }] } });
      const a = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'a' }));
      const b = await connectClient(herald.wsUrl, await herald.token({ sub: 'bea', tenant: 'b' }));
      const { body } = await herald.api('GET', '/api/v1/stats');
      assert.equal(body.tenant, 'a');
      assert.deepEqual(body.connections.byTenant, { a: 1 });
      assert.equal(body.figures, undefined);
      assert.equal((await herald.api('GET', '/api/v1/stats?tenant=b')).status, 403);
      a.close();
      b.close();
    });
  });
});
