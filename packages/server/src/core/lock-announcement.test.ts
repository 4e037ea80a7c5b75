import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultLockData, fillTemplate, lastFields, localTime, unknownPlaceholders } from './lock-announcement.js';

const SEED_004 = {
  event_type: 'LOCK_REFRESHED',
  entity_id: '{name}',
  revision: '{last.revision}',
  payload: { state: '{state}', user_id: '{userId}', expires_at: '{expiresAtLocal}', reason: '{reason}', note: '{userId} edits {name}' },
};

describe('lock announcements', () => {
  describe('#fillTemplate', () => {
    it("fills seed 004's message: whole placeholders keep their type, absent ones drop their key", () => {
      const at = new Date(2026, 10, 23, 9, 0, 5).getTime();
      const taken = fillTemplate(SEED_004, { name: 'task-17', state: 'acquired', userId: 'anna', expiresAt: at }, { revision: 41 });
      assert.deepEqual(taken, {
        event_type: 'LOCK_REFRESHED',
        entity_id: 'task-17',
        revision: 41,
        payload: { state: 'acquired', user_id: 'anna', expires_at: '2026-11-23T09:00:05', note: 'anna edits task-17' },
      });
      const released = fillTemplate(SEED_004, { name: 'task-17', state: 'released', userId: 'anna', reason: 'disconnected' }, {});
      assert.deepEqual(released, {
        event_type: 'LOCK_REFRESHED',
        entity_id: 'task-17',
        revision: 0,
        payload: { state: 'released', user_id: 'anna', reason: 'disconnected', note: 'anna edits task-17' },
      });
    });

    it('puts objects in whole and as JSON inside text', () => {
      const facts = { name: 'n', state: 'acquired' as const, userId: 'u', info: { name: 'Анна' } };
      assert.deepEqual(fillTemplate({ who: '{info}', line: 'by {info}', list: ['{reason}', 1] }, facts, {}), { who: { name: 'Анна' }, line: 'by {"name":"Анна"}', list: [1] });
    });
  });

  it('lists unknown placeholders and the last.FIELD ones it reads', () => {
    assert.deepEqual(unknownPlaceholders({ a: '{name}', b: ['{who} and {last.revision}', '{last.}'] }), ['who', 'last.']);
    assert.deepEqual(lastFields(SEED_004), ['revision']);
    assert.deepEqual(lastFields({ a: '{name}' }), []);
  });

  it('keeps the default shape of lock:acquired and lock:released', () => {
    assert.deepEqual(defaultLockData({ name: 'title', state: 'acquired', userId: 'ann', info: { name: 'Ann' }, expiresAt: 5 }), { name: 'title', userId: 'ann', info: { name: 'Ann' }, expiresAt: 5 });
    assert.deepEqual(defaultLockData({ name: 'title', state: 'released', userId: 'ann', info: { name: 'Ann' }, reason: 'released' }), { name: 'title', userId: 'ann', reason: 'released' });
  });

  it('writes local time without an offset', () => {
    assert.equal(localTime(new Date(2026, 0, 2, 3, 4, 5).getTime()), '2026-01-02T03:04:05');
  });
});
