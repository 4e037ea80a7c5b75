import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exponentialBackoff, indicatorColor, RecentIds, refreshDelay, seed000Backoff, seed003Backoff, statusLabel } from '@herald/client';

describe('exponentialBackoff', () => {
  it('doubles up to its cap and gives up after maxAttempts', () => {
    const exact = exponentialBackoff({ initial: 3000, factor: 2, max: 30_000, maxAttempts: 5, jitter: 0 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => exact.delay(n)), [3000, 6000, 12_000, 24_000, 30_000, undefined]);
  });

  it('gives seed 000 five attempts, 1, 2, 4, 8 and 16 s, then gives up', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => seed000Backoff.delay(n)), [1000, 2000, 4000, 8000, 16_000, undefined]);
  });

  it('gives seed 003 3, 6, 12 s, then 30 s for as long as it takes', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => seed003Backoff.delay(n)), [3000, 6000, 12_000, 30_000, 30_000, 30_000]);
    assert.equal(seed003Backoff.delay(10_000), 30_000);
  });

  it('follows an explicit schedule, then grows from its last step', () => {
    const b = exponentialBackoff({ schedule: [100, 500], factor: 3, max: 2000, jitter: 0 });
    assert.deepEqual([1, 2, 3, 4].map((n) => b.delay(n)), [100, 500, 1500, 2000]);
  });
});

describe('indicatorColor', () => {
  it('maps every status to one colour', () => {
    assert.deepEqual(
      (['connecting', 'connected', 'reconnecting', 'offline', 'failed'] as const).map((s) => indicatorColor(s)),
      ['yellow', 'green', 'yellow', 'red', 'red'],
    );
    assert.equal(indicatorColor({ status: 'connected', attempt: 0, since: 0 }), 'green');
    assert.equal(statusLabel('reconnecting'), 'Reconnecting…');
  });
});

describe('RecentIds', () => {
  it('reports repeats and forgets the oldest past its capacity', () => {
    const ids = new RecentIds(3);
    assert.deepEqual(['a', 'b', 'a', 'c', 'd'].map((id) => ids.add(id)), [true, true, false, true, true]);
    assert.equal(ids.size, 3);
    assert.equal(ids.has('b'), false);
    assert.equal(ids.has('a'), true);
  });
});

describe('refreshDelay', () => {
  it('refreshes `lead` before expiry, or at three quarters of a short life', () => {
    assert.equal(refreshDelay(3_600_000, 0, 30_000), 3_570_000);
    assert.equal(refreshDelay(2000, 0, 30_000), 1500);
    assert.equal(refreshDelay(0, 10, 30_000), 0);
  });
});
