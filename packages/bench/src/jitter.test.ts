import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Histogram } from './histogram.js';
import { jitterFigures } from './jitter.js';
import { StepState, Tracker } from './load/tracker.js';
import { setPinning, stopAll } from './processes.js';
import { runWorkload } from './run-workload.js';
import { heraldWs } from './targets/herald.js';
import { socketioPlain } from './targets/peers.js';
import type { Workload } from './workloads.js';

setPinning(false);
after(stopAll);

describe('jitter accounting', () => {
  it('counts distinct publications and duplicates over a client lifetime across reconnects', () => {
    const state = new StepState();
    state.begin(1, 1);
    const tracker = new Tracker(0, 0, state);
    // First connection: 0 and 1 arrive; then the client drops and comes back at t = 100.
    tracker.record({ step: 1, seq: 0, sentAt: 10 });
    tracker.record({ step: 1, seq: 1, sentAt: 20 });
    tracker.resumedAt = 100;
    tracker.reconnects++;
    // The resume replays 1 again (a duplicate), then 2 (sent while down), then 4 live; 3 never comes.
    tracker.record({ step: 1, seq: 1, sentAt: 20 });
    tracker.record({ step: 1, seq: 2, sentAt: 50 });
    tracker.record({ step: 1, seq: 4, sentAt: Number.MAX_SAFE_INTEGER });
    const sent = 5;
    const figures = jitterFigures({
      unique: tracker.unique,
      lost: sent - tracker.unique,
      duplicates: tracker.duplicates,
      reconnects: tracker.reconnects,
      replay: state.replay,
    });
    assert.deepEqual({ ...figures, replay_p99_ms: undefined }, { delivered_pct: 80, duplicates: 1, replay_p99_ms: undefined, reconnects: 1 });
    // Only the first arrival of a publication sent before the reconnect is a replay.
    assert.equal(state.replay.count, 1);
    assert.ok(figures.replay_p99_ms > 0);
  });

  it('reports nothing delivered when nothing was expected', () => {
    assert.equal(jitterFigures({ unique: 0, lost: 0, duplicates: 0, reconnects: 0, replay: new Histogram() }).delivered_pct, 0);
  });
});

const small: Workload = {
  name: 'jitter',
  kind: 'jitter',
  clients: 20,
  rooms: 1,
  payloadBytes: 200,
  rates: { start: 20, max: 20, bisections: 0 },
  seconds: 3,
  batch: 1,
  jitter: { upMs: 600, downMs: 200 },
  history: 1000,
};

describe('jitter workload', () => {
  it('herald-ws resumes with its position: every publication once, on every client', async () => {
    const result = await runWorkload(heraldWs, small, { log: () => {} });
    assert.equal(result.status, 'ok', result.note);
    assert.ok((result.reconnects ?? 0) >= small.clients, result.note);
    assert.equal(result.delivered_pct, 100, result.note);
    assert.equal(result.duplicates, 0, result.note);
    assert.equal(result.lost, 0, result.note);
    assert.ok((result.replay_p99_ms ?? 0) > 0, result.note);
    assert.equal(result.passed, true, result.note);
  });

  it('socketio-plain reconnects without recovery and misses what was sent while it was down', async () => {
    const result = await runWorkload(socketioPlain, small, { log: () => {} });
    assert.equal(result.status, 'ok', result.note);
    assert.ok((result.reconnects ?? 0) >= small.clients, result.note);
    assert.ok((result.delivered_pct ?? 100) < 100, result.note);
    assert.equal(result.passed, false);
  });
});
