import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { describeWithRedis } from '../support/cluster.js';
import type { ClientKind } from './plan.js';
import { failureDetails, type Verdict } from './report.js';
import { runChaos, type ChaosResult } from './run.js';

/** The run's findings for some client kinds, as an assertion message. */
function failuresOf(result: ChaosResult, kinds: ClientKind[]): string {
  const only: Verdict = { ...result.verdict, failures: result.verdict.failures.filter((f) => kinds.includes(f.clientKind)) };
  return `seed ${result.seed} (CHAOS_SEED=${result.seed} repeats the plan)\n${failureDetails(result.analysis, only)}`;
}

describeWithRedis('chaos: a CI-sized run (3 node processes, proxies, cuts, inversions, kill -9, Redis restart)', () => {
  let result: ChaosResult;

  before(
    async () => {
      const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : undefined;
      result = await runChaos({ size: 'ci', ...(seed !== undefined ? { seed } : {}) });
      console.log(result.text);
    },
    { timeout: 240_000 },
  );

  it('made every fault it planned, and every client kind expected publications', () => {
    const faults = (kind: string) => result.analysis.windows.filter((w) => w.kind === kind).map((w) => w.faults);
    assert.ok(faults('cuts').every((f) => (f['connections cut'] ?? 0) > 0), 'connections were cut');
    assert.ok(faults('inversions').every((f) => (f['publish bursts'] ?? 0) > 0), 'simultaneous publish bursts were made');
    assert.ok(faults('node-kill').every((f) => Object.keys(f).some((k) => k.startsWith('kill -9')) && Object.keys(f).some((k) => k.endsWith('restarted'))), 'a node was killed and restarted');
    assert.ok(faults('redis-restart').every((f) => f['redis stopped'] === 1 && f['redis started'] === 1 && !f['nodes not ready after 20 s']), 'Redis was restarted and the nodes came back');
    for (const kind of ['ws-sdk', 'ws-raw', 'socketio', 'sse'] as const) {
      const total = result.analysis.totals[kind];
      assert.ok(total.expected > 0 && total.received > 0, `${kind} expected and received publications`);
    }
    assert.ok(result.analysis.publications.acked > 100, 'enough publications were acknowledged');
  });

  it('native WebSocket (@herald/client, and a raw client resubscribing with since): no silent loss, duplicate, reorder or leak', () => {
    assert.ok(result.verdict.byKind['ws-sdk'] && result.verdict.byKind['ws-raw'], failuresOf(result, ['ws-sdk', 'ws-raw']));
  });

  it('SSE (eventsource, Last-Event-ID): no silent loss, duplicate, reorder or leak', () => {
    assert.ok(result.verdict.byKind.sse, failuresOf(result, ['sse']));
  });

  it('Socket.IO (connection state recovery): no silent loss, duplicate, reorder or leak', () => {
    assert.ok(result.verdict.byKind.socketio, failuresOf(result, ['socketio']));
  });
});
