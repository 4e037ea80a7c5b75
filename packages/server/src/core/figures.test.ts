import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LifecycleBus } from './events.js';
import { NodeFigures, SecondCounts } from './figures.js';

describe('SecondCounts', () => {
  it('sums what arrives in each second and shows the last seconds oldest first', () => {
    const counts = new SecondCounts(5);
    const t = 1_000_000_000;
    counts.add(2, t);
    counts.add(3, t + 999);
    counts.add(1, t + 2000);
    assert.deepEqual(counts.window(t + 2500), { start: t / 1000 - 2, counts: [0, 0, 5, 0, 1] });
  });

  it('forgets a second once the ring has come round to it again', () => {
    const counts = new SecondCounts(3);
    const t = 2_000_000_000;
    counts.add(7, t);
    counts.add(1, t + 3000);
    assert.deepEqual(counts.window(t + 3000).counts, [0, 0, 1]);
    assert.deepEqual(counts.window(t + 10_000).counts, [0, 0, 0], 'nothing in the last 3 s');
  });
});

describe('NodeFigures', () => {
  it('keeps totals from the bus: duplicates are not publications, each channel is one', () => {
    const bus = new LifecycleBus();
    const figures = new NodeFigures(bus);
    bus.emit('publish', { source: 'api', tenant: 't', channels: ['a', 'b'], event: 'e', id: '1', duplicate: false });
    bus.emit('publish', { source: 'api', tenant: 't', channels: ['a', 'b'], event: 'e', id: '1', duplicate: true });
    bus.emit('delivery', { key: 't\u0000a', delivered: 4 });
    bus.emit('denial', { reason: 'slow_consumer' });
    bus.emit('eviction', { connectionId: 'c', tenant: 't', userId: 'u', transport: 'websocket', code: 4006, reason: 'slow' });
    const snapshot = figures.snapshot();
    assert.deepEqual([snapshot.publications, snapshot.deliveries, snapshot.denials, snapshot.closes], [2, 4, { slow_consumer: 1 }, { 4006: 1 }]);
    assert.equal(snapshot.series.publications.at(-1), 2);
  });
});
