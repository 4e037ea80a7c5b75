import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineUnavailableError } from '../engine.js';
import { input, RecordingHandler, runEngineSuite, uniqueKey } from '../engines/engine.case.js';
import { MemoryCluster } from './memory-cluster.js';
import { waitFor } from './wait.js';

const OPTS = { history: { size: 100, ttlMs: 60_000, metaTtlMs: 3_600_000 } };

const suiteCluster = new MemoryCluster();
runEngineSuite({
  name: 'memory cluster',
  create: () => suiteCluster.engine(),
  shared: true,
  deliversOnlySubscribed: true,
  // As the memory engine: it keeps the data it was given, which a caller can change into a cycle.
  async plantUnreadable(engine, key) {
    const data: unknown[] = [];
    const { publication } = await engine.broker.publish(key, input(key, 'changed', data), OPTS);
    data.push(data);
    return publication.offset;
  },
});

describe('MemoryCluster', () => {
  describe('#interrupt', () => {
    it('stops delivery to the node, reports it, and resumes with every key it had', async () => {
      const cluster = new MemoryCluster();
      const a = cluster.engine();
      const b = cluster.engine();
      const calls: string[] = [];
      const onB = Object.assign(new RecordingHandler(), { onInterrupted: () => calls.push('interrupted'), onResumed: () => calls.push('resumed') });
      await a.start(new RecordingHandler());
      await b.start(onB);
      const key = uniqueKey();
      await b.broker.subscribe(key);
      await a.broker.publish(key, input(key, 'before'), OPTS);
      await onB.waitPublications(key, 1);

      b.interrupt();
      assert.deepEqual(calls, ['interrupted']);
      assert.equal(b.isReady(), false);
      assert.equal(await a.broker.nodeCount(), 1);
      await assert.rejects(b.broker.subscribe(uniqueKey()), EngineUnavailableError);
      await a.broker.publish(key, input(key, 'during'), OPTS);
      await a.broker.publishControl({ kind: 'disconnect', tenant: 't', code: 4000, reason: 'r' });
      await cluster.settled();
      assert.deepEqual(onB.publications(key).map((p) => p.event), ['before']);
      assert.equal(onB.controls.length, 0);
      // History is still readable: what was missed is there for a repair.
      assert.deepEqual((await b.broker.history(key, { afterOffset: 1 })).publications.map((p) => p.event), ['during']);

      b.resume();
      assert.deepEqual(calls, ['interrupted', 'resumed']);
      assert.equal(b.isReady(), true);
      await a.broker.publish(key, input(key, 'after'), OPTS);
      await waitFor(() => onB.publications(key).length === 2, 'the publication after the resume');
      assert.deepEqual(onB.publications(key).map((p) => p.event), ['before', 'after']);
      await a.close();
      await b.close();
    });
  });

  describe('#loseHistory', () => {
    it('starts every stream again in a new epoch', async () => {
      const cluster = new MemoryCluster();
      const a = cluster.engine();
      await a.start(new RecordingHandler());
      const key = uniqueKey();
      const first = await a.broker.publish(key, input(key), OPTS);
      cluster.loseHistory();
      const page = await a.broker.history(key, {});
      assert.notEqual(page.epoch, first.publication.epoch);
      assert.deepEqual({ offset: page.offset, publications: page.publications }, { offset: 0, publications: [] });
      await a.close();
    });
  });
});
