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

  describe('with several positions', () => {
    it("resumes from the position in the channel's epoch, the furthest if several are", () => {
      const plan = planRecovery({ positions: [{ epoch: 'other', offset: 1 }, { epoch: EPOCH, offset: 4 }, { epoch: EPOCH, offset: 5 }] }, page(7, [1, 7]), true);
      assert.deepEqual(plan.result, { recovered: true, replayed: 2 });
      assert.deepEqual(offsets(plan), [6, 7]);
    });

    it('reports epoch_changed when none is in the epoch', () => {
      const plan = planRecovery({ positions: [{ epoch: 'other', offset: 3 }] }, page(7, [1, 7]), true);
      assert.deepEqual(plan.result, { recovered: false, reason: 'epoch_changed', replayed: 0 });
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

  describe('with entries the engine could not read', () => {
    /** A page keeping `kept` whose offsets in `unreadable` could not be read (left out, as engines do). */
    const withUnreadable = (offset: number, kept: [number, number], unreadable: number[]): HistoryPage => {
      const p = page(offset, kept);
      return { ...p, publications: p.publications.filter((x) => !unreadable.includes(x.offset)), unreadable };
    };

    it('reports the unreadable offsets after the position as missing, and replays the rest', () => {
      const plan = planRecovery({ offset: 2, epoch: EPOCH }, withUnreadable(8, [1, 8], [4, 6]), true);
      assert.deepEqual(plan.result, { recovered: false, reason: 'history_trimmed', missing: { from: 4, to: 6 }, replayed: 4 });
      assert.deepEqual(offsets(plan), [3, 5, 7, 8]);
    });

    it('joins them to a trimmed range', () => {
      const plan = planRecovery({ offset: 2, epoch: EPOCH }, withUnreadable(8, [5, 8], [7]), true);
      assert.deepEqual(plan.result, { recovered: false, reason: 'history_trimmed', missing: { from: 3, to: 7 }, replayed: 3 });
    });

    it('still recovers when they are at or before the position', () => {
      const plan = planRecovery({ offset: 4, epoch: EPOCH }, withUnreadable(8, [1, 8], [2, 4]), true);
      assert.deepEqual(plan.result, { recovered: true, replayed: 4 });
    });

    it('reports them after a last id', () => {
      const plan = planRecovery({ lastId: 'id3' }, withUnreadable(8, [1, 8], [2, 5]), true);
      assert.deepEqual(plan.result, { recovered: false, reason: 'history_trimmed', missing: { from: 5, to: 5 }, replayed: 4 });
    });

    it('reports them after one of several positions (a Socket.IO cursor) and after a field value', () => {
      const byCursor = planRecovery({ positions: [{ epoch: 'other', offset: 7 }, { epoch: EPOCH, offset: 3 }] }, withUnreadable(8, [1, 8], [6]), true);
      assert.deepEqual(byCursor.result, { recovered: false, reason: 'history_trimmed', missing: { from: 6, to: 6 }, replayed: 4 });
      // pub(n) carries data n: the field is the data itself, so use a page whose data is an object.
      const p = withUnreadable(8, [1, 8], [6]);
      const fielded = { ...p, publications: p.publications.map((x) => ({ ...x, data: { rev: x.offset } })) };
      const byField = planRecovery({ field: 'rev', after: 3 }, fielded, true);
      assert.deepEqual(byField.result, { recovered: false, reason: 'history_trimmed', missing: { from: 6, to: 6 }, replayed: 4 });
    });
  });
});
