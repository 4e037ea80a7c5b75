import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ChannelKey, Engine, PublishItem, StreamStore } from '../engine.js';
import { RecordingHandler } from './engine.case.js';

const HISTORY = { size: 100, ttlMs: 60_000, metaTtlMs: 3_600_000 };
const ENDING = { reason: 'test', retentionMs: 60_000, idleMs: 0 };

function item(key: ChannelKey, data: unknown): PublishItem {
  return { key, input: { id: randomUUID(), channel: key.slice(key.indexOf(':') + 1), event: 'e', data, ts: Date.now() }, options: { history: HISTORY } };
}

/**
 * The StreamStore contract, run against every engine that has one (memory.test.ts-style callers:
 * stream-store.test.ts). `create` gives a fresh, unstarted engine on the shared backend.
 */
export function runStreamStoreSuite(name: string, create: () => Engine): void {
  describe(`StreamStore: ${name}`, () => {
    async function started() {
      const engine = create();
      const handler = new RecordingHandler();
      await engine.start(handler);
      assert.ok(engine.streams, `${name} keeps streams`);
      return { engine, store: engine.streams as StreamStore, handler, [Symbol.asyncDispose]: () => engine.close() };
    }

    it('appends in order, publishing each chunk with the write, and coalesces runs by group', async () => {
      await using e = await started();
      const key = `t:${randomUUID()}`;
      const id = randomUUID();
      await e.engine.broker.subscribe(key);
      await e.store.open({ id, keys: [key], meta: '{"m":1}', separator: '\n', ttlMs: 60_000 }, [item(key, 'start')]);
      const out = await e.store.append(id, key, [{ group: 'a', text: 'one' }, { group: 'a', text: 'two' }, { group: 'b', text: 'три' }], [item(key, 1), item(key, 2), item(key, 3)], 1000, 60_000);
      assert.equal(out.status, 'ok');
      if (out.status === 'ok') assert.equal(out.bytes, Buffer.byteLength('one\ntwoтри'));
      const pubs = await e.handler.waitPublications(key, 4);
      assert.deepEqual(pubs.map((p) => p.data), ['start', 1, 2, 3]);
      const snap = await e.store.snapshot(key);
      assert.equal(snap?.offset, 4);
      assert.deepEqual(snap?.streams, [{ id, meta: '{"m":1}', runs: [{ group: 'a', text: 'one\ntwo' }, { group: 'b', text: 'три' }] }]);
    });

    it('refuses a write past the length, one of unknown id, and any write after the one end that wins', async () => {
      await using e = await started();
      const key = `t:${randomUUID()}`;
      const id = randomUUID();
      await e.store.open({ id, keys: [key], meta: '{}', separator: '', ttlMs: 60_000 }, []);
      assert.deepEqual(await e.store.append(id, key, [{ group: '', text: 'x'.repeat(11) }], [item(key, 'x')], 10, 60_000), { status: 'too_long', bytes: 0 });
      assert.deepEqual(await e.store.append(randomUUID(), key, [{ group: '', text: 'x' }], [], 10, 60_000), { status: 'unknown' });
      const ends = await Promise.all([1, 2, 3].map(() => e.store.end(id, key, { ...ENDING, state: 'cancelled' }, [item(key, 'end')])));
      assert.equal(ends.filter((r) => r.status === 'ok').length, 1);
      assert.deepEqual(await e.store.append(id, key, [{ group: '', text: 'y' }], [item(key, 'y')], 10, 60_000), { status: 'ended', state: 'cancelled' });
      assert.equal((await e.store.locate(id))?.state, 'cancelled');
      assert.equal(await e.store.snapshot(key), undefined);
      const page = await e.engine.broker.history(key, {});
      assert.deepEqual(page.publications.map((p) => p.data), ['end']);
    });

    it('lists an open stream as idle once it had no write for the idle time, and ends it only then', async () => {
      await using e = await started();
      const key = `t:${randomUUID()}`;
      const id = randomUUID();
      await e.store.open({ id, keys: [key], meta: '{}', separator: '', ttlMs: 60_000 }, []);
      assert.deepEqual(await e.store.end(id, key, { ...ENDING, state: 'failed', idleMs: 10_000 }, []), { status: 'active' });
      await new Promise((r) => setTimeout(r, 120));
      // A touch (an upload still open, silent) starts the idle time again.
      assert.equal(await e.store.touch(id, key, 60_000), true);
      assert.deepEqual(await e.store.end(id, key, { ...ENDING, state: 'failed', idleMs: 100 }, []), { status: 'active' });
      await new Promise((r) => setTimeout(r, 120));
      assert.ok((await e.store.idle(100, 1000)).some((s) => s.id === id && s.home === key));
      assert.equal((await e.store.end(id, key, { ...ENDING, state: 'failed', idleMs: 100 }, [])).status, 'ok');
      assert.ok(!(await e.store.idle(100, 1000)).some((s) => s.id === id));
      assert.equal(await e.store.touch(id, key, 60_000), false);
    });
  });
}
