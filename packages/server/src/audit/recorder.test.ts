import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AuditRecorder } from './recorder.js';
import type { AuditRecord } from './records.js';

const record = (n: number): AuditRecord => ({ type: 'denial', node: 'n', at: n });

describe('AuditRecorder', () => {
  it('holds at most maxQueued records while a batch is being stored, and counts what it drops', async () => {
    const batches: AuditRecord[][] = [];
    let release!: () => void;
    const dropped: [number, string][] = [];
    const recorder = new AuditRecorder(
      async (records) => {
        batches.push(records);
        if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return 0;
      },
      100,
      (count, reason) => dropped.push([count, reason]),
    );
    recorder.add(record(0));
    await nextTurn();
    // The first batch is stuck in a slow engine: 150 more arrive, 100 wait.
    for (let i = 1; i <= 150; i++) recorder.add(record(i));
    assert.equal(dropped.length, 50);
    assert.ok(dropped.every(([count, reason]) => count === 1 && reason === 'queue_full'));
    release();
    await recorder.flushed();
    assert.deepEqual(batches.map((b) => b.length), [1, 100]);
    assert.deepEqual(batches[1].map((r) => r.at), Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('counts records the engine did not store', async () => {
    const dropped: [number, string][] = [];
    let calls = 0;
    const recorder = new AuditRecorder(
      async (records) => {
        calls += 1;
        if (calls === 1) throw new Error('engine down');
        return records.length - 1;
      },
      100,
      (count, reason) => dropped.push([count, reason]),
    );
    for (let i = 0; i < 3; i++) recorder.add(record(i));
    await recorder.flushed();
    for (let i = 0; i < 4; i++) recorder.add(record(i));
    await recorder.flushed();
    assert.deepEqual(dropped, [[3, 'unpublished'], [3, 'unpublished']]);
  });
});
