import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelay } from './backoff.js';

describe('retryDelay', () => {
  const retry = { initialDelay: 1000, maxDelay: 60_000 };

  it('doubles from the initial delay up to the maximum, at the top of its range', () => {
    assert.deepEqual([1, 2, 3, 4, 7, 8, 100].map((n) => retryDelay(n, retry, () => 1)), [1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
  });

  it('draws each wait from half to all of it, so that nodes do not retry in step', () => {
    assert.deepEqual([1, 3].map((n) => retryDelay(n, retry, () => 0)), [500, 2000]);
    for (let i = 0; i < 100; i++) {
      const d = retryDelay(4, retry);
      assert.ok(d >= 4000 && d <= 8000, String(d));
    }
  });
});
