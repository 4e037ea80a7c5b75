import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald } from '../testing/herald-fixture.js';
import { MemoryCluster } from '../testing/memory-cluster.js';
import { connectClient } from '../testing/ws-client.js';

/**
 * A node of an older version in the same cluster: it answers cluster questions as it knows them,
 * stats without the figures and lists it has no kind for with nothing.
 */
async function startOlderNode(cluster: MemoryCluster) {
  const engine = cluster.engine();
  await engine.start({
    onChannelMessage: () => undefined,
    onControl: (command) => {
      if (command.kind !== 'request') return;
      const { kind } = command.question as { kind: string };
      const answer = kind === 'stats' ? { connections: { total: 1, users: 1, byTransport: { websocket: 1 }, byTenant: { default: 1 } }, userKeys: ['default:old'], rooms: [], engine: 'memory-cluster', accepting: true } : undefined;
      void engine.broker.publishControl({ kind: 'answer', id: command.id, to: command.from, from: 'older-node', answer });
    },
  });
  return engine;
}

describe('HTTP lists in a cluster with a node of an older version', () => {
  it('answer from the nodes that know the question instead of failing', async () => {
    const cluster = new MemoryCluster();
    await using herald = await startHerald({}, { engine: cluster.engine() });
    const older = await startOlderNode(cluster);
    const ann = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    const stats = await herald.api('GET', '/api/v1/stats');
    assert.equal(stats.status, 200);
    assert.deepEqual([stats.body.nodes, stats.body.answered, stats.body.connections.total], [2, 1, 1]);
    const connections = await herald.api('GET', '/api/v1/connections');
    assert.equal(connections.status, 200);
    assert.deepEqual([connections.body.answered, connections.body.connections.map((c: any) => c.userId)], [2, ['ann']]);
    const locks = await herald.api('GET', '/api/v1/locks');
    assert.deepEqual([locks.status, locks.body.locks], [200, []]);
    ann.close();
    await older.close();
  });
});
