import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ledger, type ChaosData } from './ledger.js';
import { verdict } from './report.js';

/** A ledger on a clock the test moves, with one publication per call of `publish`. */
function setup() {
  let now = 1_000_000;
  const ledger = new Ledger(() => now);
  const tick = (ms = 10) => (now += ms);
  let n = 0;
  const offsets = new Map<string, number>();
  /** Publishes to `channels` of `tenant` and acknowledges it; returns what a client would get per channel. */
  const publish = (tenant: string, channels: string[]) => {
    const k = `p${++n}`;
    const seq: Record<string, number> = {};
    const data: ChaosData = { k, t: tenant, ch: channels, seq };
    const ack: Record<string, number> = {};
    for (const c of channels) {
      const o = (offsets.get(`${tenant}|${c}`) ?? 0) + 1;
      offsets.set(`${tenant}|${c}`, o);
      ack[c] = o;
      seq[c] = o;
    }
    ledger.intend({ k, tenant, channels, seq });
    tick();
    ledger.acknowledge(k, { id: `ID${String(n).padStart(4, '0')}`, offsets: ack, duplicate: false }, 1);
    return { k, data, id: `ID${String(n).padStart(4, '0')}`, offsets: ack };
  };
  /** Offsets start over, as after a Redis restart. */
  const newEpoch = () => offsets.clear();
  return { ledger, tick, publish, newEpoch };
}

describe('chaos ledger', () => {
  it('counts a clean run as clean', () => {
    const { ledger, publish } = setup();
    ledger.addClient({ id: 'a', kind: 'ws-raw', tenant: 't0', channels: ['x', 'y'], oncePerPublication: false });
    ledger.beginWindow('1 baseline', 'baseline');
    for (let i = 0; i < 5; i++) {
      const p = publish('t0', ['x', 'y']);
      for (const c of ['x', 'y']) ledger.deliver('a', { channel: c, id: p.id, epoch: 'E', offset: p.offsets[c], data: p.data });
    }
    const a = ledger.analyse();
    assert.deepEqual(a.totals['ws-raw'], { expected: 10, received: 10, lostSilently: 0, lostReported: 0, duplicates: 0, reorders: 0, leaks: 0, unacked: 0 });
    assert.equal(verdict(a).ok, true);
  });

  it('detects a dropped, a duplicated and a reordered delivery, and a cross-tenant one', () => {
    const { ledger, publish } = setup();
    ledger.addClient({ id: 'a', kind: 'ws-raw', tenant: 't0', channels: ['x'], oncePerPublication: false });
    ledger.addClient({ id: 'b', kind: 'sse', tenant: 't1', channels: ['x'], oncePerPublication: false });
    ledger.beginWindow('1 cuts', 'cuts');
    const ps = [1, 2, 3, 4, 5].map(() => publish('t0', ['x']));
    const give = (i: number) => ledger.deliver('a', { channel: 'x', id: ps[i].id, epoch: 'E', offset: ps[i].offsets.x, data: ps[i].data });
    give(0);
    give(2); // 2 is skipped: dropped
    give(2); // duplicated
    give(4);
    give(3); // after 5: reordered
    // The other tenant's client gets t0's publication on its own channel of the same name.
    ledger.deliver('b', { channel: 'x', id: ps[0].id, epoch: 'E', offset: 1, data: ps[0].data });
    const a = ledger.analyse();
    const raw = a.totals['ws-raw'];
    assert.equal(raw.expected, 5);
    assert.equal(raw.received, 4);
    assert.equal(raw.lostSilently, 1);
    assert.equal(raw.duplicates, 1);
    assert.equal(raw.reorders, 1);
    assert.equal(a.totals.sse.leaks, 1);
    const lost = a.findings.find((f) => f.kind === 'lost-silently');
    assert.equal(lost?.offset, 2);
    assert.equal(lost?.client, 'a');
    assert.equal(a.findings.find((f) => f.kind === 'reorder')?.offset, 4);
    const v = verdict(a);
    assert.equal(v.ok, false);
    assert.deepEqual(new Set(v.failures.map((f) => f.clientKind)), new Set(['ws-raw', 'sse']));
  });

  it('counts a loss the transport reported as reported, and only what the report covers', () => {
    const { ledger, publish, newEpoch } = setup();
    ledger.addClient({ id: 'a', kind: 'ws-sdk', tenant: 't0', channels: ['x'], oncePerPublication: false });
    ledger.beginWindow('1 redis-restart', 'redis-restart');
    const old = [publish('t0', ['x']), publish('t0', ['x'])];
    ledger.deliver('a', { channel: 'x', id: old[0].id, epoch: 'E1', offset: 1, data: old[0].data });
    ledger.generation += 1;
    newEpoch();
    // The client resubscribes in the new epoch after its offset 1.
    const fresh = [publish('t0', ['x']), publish('t0', ['x']), publish('t0', ['x'])];
    ledger.report('a', { channel: 'x', reason: 'epoch_changed', liveFrom: { epoch: 'E2', offset: 1 } });
    ledger.deliver('a', { channel: 'x', id: fresh[1].id, epoch: 'E2', offset: 2, data: fresh[1].data });
    // fresh[2] never arrives: that one is silent, though the report came before.
    const a = ledger.analyse();
    const sdk = a.totals['ws-sdk'];
    assert.equal(sdk.expected, 5);
    assert.equal(sdk.received, 2);
    // old[1] (old epoch) and fresh[0] (offset 1 of the new epoch, before live) are reported.
    assert.equal(sdk.lostReported, 2);
    assert.equal(sdk.lostSilently, 1);
    assert.equal(a.findings[0].k, fresh[2].k);
    // Inside a Redis-restart window a silent loss still fails.
    assert.equal(verdict(a).ok, false);
  });

  it('does not let a later report excuse a publication that was due while the client was up', () => {
    const { ledger, publish, tick, newEpoch } = setup();
    ledger.addClient({ id: 'a', kind: 'socketio', tenant: 't0', channels: ['x'], oncePerPublication: true });
    ledger.beginWindow('1 inversions', 'inversions');
    const skipped = publish('t0', ['x']);
    const next = publish('t0', ['x']);
    ledger.deliver('a', { id: next.id, data: next.data });
    tick(10_000);
    ledger.beginWindow('2 redis-restart', 'redis-restart');
    ledger.generation += 1;
    newEpoch();
    ledger.interrupted('a', 'disconnect: transport close');
    tick(500);
    ledger.report('a', { channel: 'x', reason: 'session_not_restored', liveFrom: { epoch: 'E2', offset: 0 } });
    const a = ledger.analyse();
    assert.equal(a.totals.socketio.lostSilently, 1);
    assert.equal(a.findings[0].k, skipped.k);
    assert.equal(a.findings[0].window, 1);
  });

  it('takes a missing range literally', () => {
    const { ledger, publish } = setup();
    ledger.addClient({ id: 'a', kind: 'ws-raw', tenant: 't0', channels: ['x'], oncePerPublication: false });
    ledger.beginWindow('1 cuts', 'cuts');
    const ps = [1, 2, 3, 4].map(() => publish('t0', ['x']));
    ledger.deliver('a', { channel: 'x', id: ps[0].id, epoch: 'E', offset: 1, data: ps[0].data });
    ledger.report('a', { channel: 'x', reason: 'history_trimmed', missing: { from: 2, to: 2 } });
    ledger.deliver('a', { channel: 'x', id: ps[3].id, epoch: 'E', offset: 4, data: ps[3].data });
    const t = ledger.analyse().totals['ws-raw'];
    assert.equal(t.lostReported, 1);
    assert.equal(t.lostSilently, 1);
  });

  it('expects a multi-room publication once on Socket.IO, and finds it repeated', () => {
    const { ledger, publish } = setup();
    ledger.addClient({ id: 's', kind: 'socketio', tenant: 't0', channels: ['x', 'y'], oncePerPublication: true });
    ledger.beginWindow('1 inversions', 'inversions');
    const both = publish('t0', ['x', 'y']);
    const one = publish('t0', ['y']);
    ledger.deliver('s', { id: both.id, data: both.data });
    ledger.deliver('s', { id: one.id, data: one.data });
    let a = ledger.analyse();
    assert.deepEqual([a.totals.socketio.expected, a.totals.socketio.received, a.totals.socketio.duplicates], [2, 2, 0]);
    ledger.deliver('s', { id: both.id, data: both.data });
    a = ledger.analyse();
    assert.equal(a.totals.socketio.duplicates, 1);
    assert.equal(verdict(a).ok, false);
  });

  it('tolerates duplicates in a Redis-restart window but not outside it', () => {
    const { ledger, publish } = setup();
    ledger.addClient({ id: 'a', kind: 'ws-raw', tenant: 't0', channels: ['x'], oncePerPublication: false });
    ledger.beginWindow('1 redis-restart', 'redis-restart');
    const p = publish('t0', ['x']);
    ledger.deliver('a', { channel: 'x', id: p.id, epoch: 'E', offset: 1, data: p.data });
    ledger.deliver('a', { channel: 'x', id: p.id, epoch: 'E', offset: 1, data: p.data });
    assert.equal(verdict(ledger.analyse()).ok, true);
    ledger.beginWindow('2 cuts', 'cuts');
    ledger.deliver('a', { channel: 'x', id: p.id, epoch: 'E', offset: 1, data: p.data });
    assert.equal(verdict(ledger.analyse()).ok, false);
  });

  it('settles on a delivery that came before its acknowledgement', () => {
    const { ledger, tick } = setup();
    ledger.addClient({ id: 'a', kind: 'ws-raw', tenant: 't0', channels: ['x'], oncePerPublication: false });
    const data: ChaosData = { k: 'early', t: 't0', ch: ['x'], seq: { x: 1 } };
    ledger.intend({ k: 'early', tenant: 't0', channels: ['x'], seq: { x: 1 } });
    ledger.deliver('a', { channel: 'x', id: 'ID', epoch: 'E', offset: 1, data });
    ledger.acknowledge('early', { id: 'ID', offsets: { x: 1 }, duplicate: false }, 1);
    ledger.intend({ k: 'late', tenant: 't0', channels: ['x'], seq: { x: 2 } });
    ledger.acknowledge('late', { id: 'ID2', offsets: { x: 2 }, duplicate: false }, 1);
    tick(2000);
    assert.equal(ledger.outstanding(1000), 1, 'only the undelivered one is outstanding');
  });

  it('finds a publication to several channels that arrived with a different id on each', () => {
    const { ledger, publish } = setup();
    ledger.addClient({ id: 'a', kind: 'ws-raw', tenant: 't0', channels: ['x', 'y'], oncePerPublication: false });
    ledger.beginWindow('1 node-kill', 'node-kill');
    const p = publish('t0', ['x', 'y']);
    ledger.deliver('a', { channel: 'x', id: p.id, epoch: 'E', offset: 1, data: p.data });
    ledger.deliver('a', { channel: 'y', id: 'ANOTHER', epoch: 'E', offset: 1, data: p.data });
    const a = ledger.analyse();
    assert.deepEqual(a.splitIds, [{ k: p.k, ackId: p.id, window: 1, ids: { x: [p.id], y: ['ANOTHER'] } }]);
    const v = verdict(a);
    assert.equal(v.ok, false);
    assert.equal(v.byKind['ws-raw'], true, 'each channel got it once: the client kind passes, the run does not');
  });

  it('does not expect what was never acknowledged, and counts it if it arrives', () => {
    const { ledger } = setup();
    ledger.addClient({ id: 'a', kind: 'ws-raw', tenant: 't0', channels: ['x'], oncePerPublication: false });
    ledger.beginWindow('1 node-kill', 'node-kill');
    ledger.intend({ k: 'lost-answer', tenant: 't0', channels: ['x'], seq: { x: 1 } });
    ledger.giveUp('lost-answer', 'no answer');
    ledger.deliver('a', { channel: 'x', id: 'ID', epoch: 'E', offset: 1, data: { k: 'lost-answer', t: 't0', ch: ['x'], seq: { x: 1 } } });
    const t = ledger.analyse().totals['ws-raw'];
    assert.deepEqual([t.expected, t.unacked, t.lostSilently], [0, 1, 0]);
  });
});
