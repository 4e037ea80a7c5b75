import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryPage, StoredPublication } from '../engine.js';
import { planRecovery } from './recovery.js';

const EPOCH = 'e1';

function pub(offset: number): StoredPublication {
  return { id: `id${offset}`, channel: 'c', event: 'e', data: offset, offset, epoch: EPOCH, ts: 0 };
}

/** A history page as the engine returns it: the stream at `offset`, keeping `kept` offsets (inclusive). */
function page(offset: number, kept: [number, number] | [] = []): HistoryPage {
  const publications: StoredPublication[] = [];
  if (kept.length === 2) for (let o = kept[0]; o <= kept[1]; o++) publications.push(pub(o));
  return { epoch: EPOCH, offset, publications };
}

const offsets = (plan: ReturnType<typeof planRecovery>) => plan.replay.map((p) => p.offset);

describe('planRecovery', () => {
  describe('with an offset and epoch', () => {
    it('replays exactly what was missed, in order', () => {
      const plan = planRecovery({ offset: 3, epoch: EPOCH }, page(7, [4, 7]), true);
      assert.deepEqual(plan.result, { recovered: true, replayed: 4 });
      assert.deepEqual(offsets(plan), [4, 5, 6, 7]);
      assert.equal(plan.offset, 7);
    });

    it('ignores publications at or below the position in the page', () => {
      const plan = planRecovery({ offset: 5, epoch: EPOCH }, page(7, [1, 7]), true);
      assert.deepEqual(offsets(plan), [6, 7]);
      assert.equal(plan.result.recovered, true);
    });

    it('recovers nothing when nothing was missed, even without history', () => {
      for (const kept of [true, false]) {
        const plan = planRecovery({ offset: 7, epoch: EPOCH }, page(7), kept);
        assert.deepEqual(plan.result, { recovered: true, replayed: 0 });
        assert.equal(plan.replay.length, 0);
      }
    });

    it('reports epoch_changed when the stream was reset', () => {
      const plan = planRecovery({ offset: 3, epoch: 'old' }, page(7, [1, 7]), true);
      assert.deepEqual(plan.result, { recovered: false, reason: 'epoch_changed', replayed: 0 });
      assert.equal(plan.replay.length, 0);
      assert.equal(plan.offset, 7);
    });

    it('reports offset_ahead for a position the stream never reached', () => {
      const plan = planRecovery({ offset: 9, epoch: EPOCH }, page(7, [1, 7]), true);
      assert.deepEqual(plan.result, { recovered: false, reason: 'offset_ahead', replayed: 0 });
    });

    it('reports history_trimmed with the missing range and replays what is kept', () => {
      // History of 3: offsets 6..8 kept; the client stopped at 3, so 4 and 5 are gone.
      const plan = planRecovery({ offset: 3, epoch: EPOCH }, page(8, [6, 8]), true);
      assert.deepEqual(plan.result, { recovered: false, reason: 'history_trimmed', missing: { from: 4, to: 5 }, replayed: 3 });
      assert.deepEqual(offsets(plan), [6, 7, 8]);
      assert.equal(plan.offset, 8);
    });

    it('reports the whole range as missing when every kept publication expired', () => {
      const plan = planRecovery({ offset: 3, epoch: EPOCH }, page(8), true);
      assert.deepEqual(plan.result, { recovered: false, reason: 'history_trimmed', missing: { from: 4, to: 8 }, replayed: 0 });
    });

    it('reports no_history with the missing range when the channel keeps none', () => {
      const plan = planRecovery({ offset: 3, epoch: EPOCH }, page(8), false);
      assert.deepEqual(plan.result, { recovered: false, reason: 'no_history', missing: { from: 4, to: 8 }, replayed: 0 });
    });
  });

  describe('with a last id', () => {
    it('replays what follows the id', () => {
      const plan = planRecovery({ lastId: 'id5' }, page(8, [3, 8]), true);
      assert.deepEqual(plan.result, { recovered: true, replayed: 3 });
      assert.deepEqual(offsets(plan), [6, 7, 8]);
    });

    it('recovers nothing when the id is the latest', () => {
      const plan = planRecovery({ lastId: 'id8' }, page(8, [3, 8]), true);
      assert.deepEqual(plan.result, { recovered: true, replayed: 0 });
    });

    it('reports unknown_id for an id not in the history', () => {
      const plan = planRecovery({ lastId: 'id1' }, page(8, [3, 8]), true);
      assert.deepEqual(plan.result, { recovered: false, reason: 'unknown_id', replayed: 0 });
      assert.equal(plan.replay.length, 0);
    });

    it('reports no_history when the channel keeps none', () => {
      const plan = planRecovery({ lastId: 'id1' }, page(8), false);
      assert.deepEqual(plan.result, { recovered: false, reason: 'no_history', replayed: 0 });
    });
  });
});
