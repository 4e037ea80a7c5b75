import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it, after } from 'node:test';
import { Histogram } from './histogram.js';
import { StepState, Tracker } from './load/tracker.js';
import { makeData, readStamp, type Stamp } from './payload.js';
import { setPinning, stopAll } from './processes.js';
import { requestFigures } from './measure-step.js';
import { perRequestNote } from './throughput.js';
import { runWorkload } from './run-workload.js';
import { PublishApi } from './peers/publish-api.js';
import { addRatios, table, vsStrongest } from './report.js';
import { emptyResult, type WorkloadResult } from './result.js';
import { socketioPlain, socketioRedis, uws, wsCorked, wsReference } from './targets/peers.js';
import { applies } from './suite.js';
import { heraldRedis, heraldWs } from './targets/herald.js';
import { workloads, type Workload } from './workloads.js';
import { SseConnection } from './clients/sse-connection.js';

// Tests share the machine with other tests: no core pinning here.
setPinning(false);
after(stopAll);

const tiny: Workload = {
  name: 'smoke',
  kind: 'throughput',
  clients: 20,
  rooms: 2,
  payloadBytes: 200,
  rates: { start: 50, max: 50, bisections: 0 },
  seconds: 1,
  batch: 1,
};

describe('payload', () => {
  it('reads the stamp back from any framing around the data', () => {
    const data = makeData(3, 41, 1_712_345_678_901_234, 200);
    assert.ok(Math.abs(data.length - 200) <= 2);
    const framed = Buffer.from(`42["e",${data}]`);
    const stamp: Stamp = { step: 0, seq: 0, sentAt: 0 };
    assert.equal(readStamp(framed, 0, framed.length, stamp), true);
    assert.deepEqual(stamp, { step: 3, seq: 41, sentAt: 1_712_345_678_901_234 });
    assert.equal(readStamp(Buffer.from('{"type":"ping"}'), 0, 15, stamp), false);
  });
});

describe('Histogram', () => {
  it('answers quantiles within a few percent', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100_000; v++) h.record(v);
    for (const q of [0.5, 0.9, 0.99]) {
      const expected = q * 100_000;
      assert.ok(Math.abs(h.quantile(q) - expected) / expected < 0.04, `q${q}: ${h.quantile(q)}`);
    }
    assert.equal(h.quantile(1), 100_000);
  });
});

describe('Tracker', () => {
  it('counts duplicates, out-of-order and stale deliveries apart', () => {
    const state = new StepState();
    state.begin(1, 1);
    const tracker = new Tracker(0, 0, state);
    for (const seq of [0, 2, 1, 2]) tracker.record({ step: 1, seq, sentAt: 0 });
    tracker.record({ step: 0, seq: 5, sentAt: 0 });
    assert.deepEqual(
      { received: tracker.received, unique: tracker.unique, duplicates: tracker.duplicates, outOfOrder: tracker.outOfOrder, stale: state.stale },
      { received: 4, unique: 3, duplicates: 1, outOfOrder: 1, stale: 1 },
    );
  });
});

describe('SseConnection', () => {
  it('splits a chunked event stream into events, across reads', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      res.write('event: e\ndata: {"k":[1,0,5]}\n\nevent: e\nda');
      setTimeout(() => res.end('ta: {"k":[1,1,6]}\r\n\r\n'), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      class Probe extends SseConnection {
        protected onOpen(): void {}
        protected onEvent(buf: Buffer, start: number, end: number): void {
          events.push(buf.toString('utf8', start, end));
        }
        protected onRefused(reason: string): void {
          reject(new Error(reason));
        }
        protected onEnd(): void {
          resolve();
        }
      }
      new Probe({ host: '127.0.0.1', port, path: '/' });
    });
    server.close();
    assert.deepEqual(events, [': hello', 'event: e\ndata: {"k":[1,0,5]}', 'event: e\ndata: {"k":[1,1,6]}']);
  });
});

describe('runWorkload', () => {
  for (const target of [wsReference, wsCorked, uws, socketioPlain]) {
    it(`delivers every publication to ${target.name} clients, none lost`, async () => {
      const result = await runWorkload(target, tiny, { log: () => {} });
      assert.equal(result.status, 'ok', result.note);
      assert.equal(result.connected, 20);
      const [step] = result.steps ?? [];
      // 50 publications/s for 1 s into 2 rooms of 10 clients: 500 deliveries.
      assert.equal(step.received, 500, JSON.stringify(step));
      assert.equal(step.lost, 0);
      assert.equal(step.duplicates, 0);
      assert.equal(step.out_of_order, 0);
      assert.ok(step.p99_ms > 0 && step.p99_ms < 1000);
      assert.ok((result.peak_rss_mb ?? 0) > 0);
    });
  }
});

describe('ingest accounting', () => {
  it('counts requests answered with success per second and server time over every request sent', () => {
    assert.deepEqual(requestFigures(50_000, { requests: 1000, failedRequests: 10 }, 2), { requests_per_s: 495, server_us_per_request: 50 });
    assert.deepEqual(requestFigures(0, { requests: 0, failedRequests: 0 }, 1), { requests_per_s: 0, server_us_per_request: null });
  });

  it('says sustained only for a row that passed, generator-bound for one the generator limited', () => {
    const steps = [{ rate: 10_000 }] as WorkloadResult['steps'];
    assert.equal(perRequestNote({ requests_per_s: 20_000, server_us_per_request: 31.5, steps, passed: true }), '20,000 requests/s sustained; 31.5 µs/request at 10000/s');
    assert.equal(perRequestNote({ requests_per_s: 0, server_us_per_request: 40, steps, passed: false }), '0 requests/s sustained; 40 µs/request at 10000/s');
    assert.equal(perRequestNote({ requests_per_s: 7395, server_us_per_request: 46, steps, passed: null }), '7,395 requests/s generator-bound; 46 µs/request at 10000/s');
  });

  it('reports requests/s and µs per request for single publishes to rooms with no subscriber or one', async () => {
    // 200 requests/s for 1 s over 20 rooms, one client in each of the first 5: 50 deliveries.
    const ingest: Workload = { ...tiny, name: 'ingest', clients: 5, rooms: 20, rates: { start: 200, max: 200, bisections: 0 }, perRequest: true };
    const result = await runWorkload(wsReference, ingest, { log: () => {} });
    assert.equal(result.status, 'ok', result.note);
    const [step] = result.steps ?? [];
    assert.equal(step.received, 50, JSON.stringify(step));
    assert.equal(step.lost, 0);
    assert.equal(step.requests_per_s, 200);
    assert.equal(result.requests_per_s, 200);
    assert.ok(step.server_us_per_request !== null && step.server_us_per_request > 0);
    // The same server time, over 200 requests or over 50 deliveries.
    assert.ok(Math.abs(step.server_us_per_request * 200 - (step.server_us_per_delivery ?? 0) * 50) < 1, JSON.stringify(step));
    // A busy machine may make the generator the limit: then the note says so instead of sustained.
    const how = result.passed === null ? 'generator-bound' : 'sustained';
    assert.match(result.note ?? '', new RegExp(`(^|; )200 requests/s ${how}; ${step.server_us_per_request} µs/request at 200/s`));
  });
});

describe('report', () => {
  const row = (target: string, us: number, dps: number): WorkloadResult => ({
    ...emptyResult(target, { name: 'fan-out', clients: 1000, rooms: 1 }),
    server_us_per_delivery: us,
    deliveries_per_s: dps,
  });

  it("compares each Herald row with its strongest peers that ran", () => {
    const results = [row('ws-reference', 10, 100_000), row('ws-corked', 5, 300_000), row('uws', 4, 120_000), row('herald-ws', 12, 80_000), row('herald-sse', 12, 80_000)];
    addRatios(results, ['ws-reference', 'ws-corked', 'uws']);
    const herald = results[3];
    assert.deepEqual(herald.ratios.uws, { server_us_per_delivery: 3, deliveries_per_s: 0.67 });
    assert.equal(vsStrongest(herald), 'ws-corked µs ×2.4 d/s ×0.27; uws µs ×3 d/s ×0.67');
    assert.equal(vsStrongest(results[4]), '-');
    const header = table(results, ['ws-reference', 'ws-corked', 'uws']).split('\n')[0];
    assert.match(header, /vs ws-reference +vs strongest peer +note/);
    assert.doesNotMatch(header, /vs uws/);
  });
});

describe('PublishApi', () => {
  it('delivers single and batch publications and rejects malformed bodies', () => {
    const got: string[] = [];
    const api = new PublishApi((channel, event) => got.push(`${channel}/${event}`));
    assert.equal(api.route('POST', '/publish/batch'), 'batch');
    assert.equal(api.route('GET', '/publish'), null);
    assert.deepEqual(api.answer('publish', Buffer.from('{"channel":"a","event":"e"}')), { status: 200, body: { id: '1', offset: 1 } });
    const batch = JSON.stringify({ publications: [{ channel: 'b', event: 'e' }, { channel: 'c', event: 'e' }] });
    assert.deepEqual(api.answer('batch', Buffer.from(batch)), { status: 200, body: { count: 2, offset: 3 } });
    assert.equal(api.answer('publish', Buffer.from('{')).status, 400);
    assert.equal(api.answer('batch', Buffer.from('{"publications":[{"channel":1}]}')).status, 400);
    assert.deepEqual(got, ['a/e', 'b/e', 'c/e']);
  });
});

describe('applies', () => {
  const quick = workloads({ quick: true, large: false });
  const named = (name: string) => quick.find((w) => w.name === name)!;

  it('in a quick run, runs multi-node targets only in the workloads that name them', () => {
    for (const target of [heraldRedis, socketioRedis]) {
      assert.equal(applies(target, named('fan-out'), true), false);
      assert.equal(applies(target, named('cross-node'), true), true);
      assert.equal(applies(target, named('fan-out'), false), true);
    }
    assert.equal(applies(heraldWs, named('fan-out'), true), true);
    assert.equal(applies(heraldRedis, named('batch-publish'), true), false);
  });

  it('runs targets asked for by name in every workload they may run, quick or not', () => {
    for (const target of [heraldRedis, socketioRedis]) assert.equal(applies(target, named('fan-out'), true, true), true);
    assert.equal(applies(heraldRedis, named('batch-publish'), true, true), true);
    // A workload's own list of targets still holds.
    assert.equal(applies(socketioPlain, named('cross-node'), true, true), false);
  });
});
