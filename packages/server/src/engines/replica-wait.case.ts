import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { EngineUnavailableError, type Engine, type PublishOptions } from '../engine.js';
import { RecordingHandler, input, uniqueKey } from './engine.case.js';

/**
 * `waitReplicas` (WAIT-based durability) on a deployment with one replica per master, as one case
 * that the Cluster and Sentinel tests both run. Not a `*.test.ts` file.
 */
export function runReplicaWaitCase(create: (waitReplicas: number, waitTimeoutMs: number) => Engine): void {
  const engines: Engine[] = [];
  after(async () => {
    for (const engine of engines.splice(0)) await engine.close();
  });
  const start = async (waitReplicas: number, waitTimeoutMs: number) => {
    const engine = create(waitReplicas, waitTimeoutMs);
    engines.push(engine);
    await engine.start(new RecordingHandler());
    return engine;
  };
  const opts = (idempotencyKey: string): PublishOptions => ({
    history: { size: 10, ttlMs: 60_000, metaTtlMs: 3_600_000 },
    idempotency: { key: idempotencyKey, ttlMs: 60_000 },
  });

  it('with waitReplicas 1 acknowledges publishes (single and batched over several slots) once the replica has them', async () => {
    const engine = await start(1, 500);
    const key = uniqueKey('durable');
    const { publication } = await engine.broker.publish(key, input(key), opts('a'));
    assert.equal(publication.offset, 1);
    const keys = [uniqueKey('d1'), uniqueKey('d2'), uniqueKey('d3'), uniqueKey('d4')];
    const results = await engine.broker.publishMany(keys.map((k) => ({ key: k, input: input(k), options: opts('b') })));
    assert.deepEqual(results.map((r) => ('publication' in r ? r.publication.offset : r.error.message)), [1, 1, 1, 1]);
  });

  it('with more replicas asked than there are fails as unavailable after waitTimeout; the retry with its idempotency key finds the publication', async () => {
    const engine = await start(2, 200);
    const key = uniqueKey('short');
    const body = input(key);
    await assert.rejects(engine.broker.publish(key, body, opts('k')), (err: Error) => err instanceof EngineUnavailableError && /reached 1 of 2 replicas within 200 ms/.test(err.message));
    // Stored and delivered all the same: the retry is a duplicate, not a second publication.
    const relaxed = await start(0, 200);
    const retry = await relaxed.broker.publish(key, input(key), opts('k'));
    assert.equal(retry.duplicate, true);
    assert.equal(retry.publication.id, body.id);
  });
}
