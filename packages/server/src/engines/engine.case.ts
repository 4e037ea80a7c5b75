import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sleep, waitFor } from '../testing/wait.js';

export { sleep };
import {
  EngineUnavailableError,
  type ChannelKey,
  type ChannelMessage,
  type ControlCommand,
  type Engine,
  type EngineHandler,
  type HistoryOptions,
  type PublishInput,
  type PublishItemResult,
  type PublishOptions,
  type StoredPublication,
} from '../engine.js';

/**
 * The contract of `Engine` (see engine.ts) as one suite that every engine runs, in the manner of
 * hono's `router/common.case.test.ts`. Not a `*.test.ts` file: it runs only through an engine's
 * test file.
 */
export interface EngineSuiteOptions {
  name: string;
  /** A new engine, not yet started. With `shared`, two calls give two nodes of one cluster. */
  create: () => Engine | Promise<Engine>;
  /** Cases to skip (by their full name, `describe > it`), with the reason. */
  skip?: { reason: string; tests: string[] }[];
  /** Engines from separate `create()` calls share one backend (publications, presence, connections). */
  shared?: boolean;
  /** Only subscribed keys reach the handler (memory's subscribe is a no-op: every key does). */
  deliversOnlySubscribed?: boolean;
  /**
   * Makes the key's next offset an entry the engine cannot read back, the way this engine can
   * come to hold one (memory: data changed after publishing; Redis: an entry written by
   * something else). Resolves with its offset.
   */
  plantUnreadable: (engine: Engine, key: ChannelKey) => Promise<number>;
}

const WAIT_MS = 3000;
const LONG: HistoryOptions = { size: 100, ttlMs: 60_000, metaTtlMs: 3_600_000 };
const OPTS: PublishOptions = { history: LONG };


/** An EngineHandler that records what it is given, for assertions. */
export class RecordingHandler implements EngineHandler {
  readonly messages: ChannelMessage[] = [];
  readonly controls: ControlCommand[] = [];

  onChannelMessage(message: ChannelMessage): void {
    this.messages.push(message);
  }

  onControl(command: ControlCommand): void {
    this.controls.push(command);
  }

  forKey(key: ChannelKey): ChannelMessage[] {
    return this.messages.filter((m) => m.key === key);
  }

  publications(key: ChannelKey): StoredPublication[] {
    return this.forKey(key).flatMap((m) => (m.kind === 'pub' ? [m.publication] : []));
  }

  /** Waits until the key has received `n` publications; returns them. */
  waitPublications(key: ChannelKey, n: number): Promise<StoredPublication[]> {
    return waitFor(() => {
      const pubs = this.publications(key);
      return pubs.length >= n ? pubs : undefined;
    }, `${n} publication(s) on ${key}`);
  }
}

/** A started engine with its recording handler. */
export interface Node {
  engine: Engine;
  handler: RecordingHandler;
}

let sequence = 0;

/** A channel key no other case uses, so cases can share one engine (and one Redis). */
export function uniqueKey(label = 'ch'): ChannelKey {
  return `t${process.pid}x${++sequence}:${label}-${randomUUID().slice(0, 8)}`;
}

/** A publish input for the key's channel; `extra` overrides any field. */
export function input(key: ChannelKey, event = 'e', data: unknown = {}, extra: Partial<PublishInput> = {}): PublishInput {
  return { id: randomUUID(), channel: key.slice(key.indexOf(':') + 1), event, data, ts: Date.now(), ...extra };
}

/** Registers the shared engine suite under `describe(name)`. */
export function runEngineSuite(options: EngineSuiteOptions): void {
  const skipped = new Map<string, string>();
  for (const group of options.skip ?? []) for (const test of group.tests) skipped.set(test, group.reason);
  const nodes: Node[] = [];

  async function startNode(): Promise<Node> {
    const engine = await options.create();
    const handler = new RecordingHandler();
    await engine.start(handler);
    nodes.push({ engine, handler });
    return { engine, handler };
  }

  /** `it` that honours `options.skip`. */
  function test(group: string, name: string, fn: () => Promise<void>, reason?: string): void {
    const skip = reason ?? skipped.get(`${group} > ${name}`);
    it(name, skip ? { skip } : {}, fn);
  }

  describe(`Engine: ${options.name}`, () => {
    let node: Node;
    const subscribed = async (label?: string): Promise<ChannelKey> => {
      const key = uniqueKey(label);
      await node.engine.broker.subscribe(key);
      return key;
    };

    before(async () => {
      node = await startNode();
    });

    after(async () => {
      for (const n of nodes.splice(0)) await n.engine.close();
    });

    describe('#publish', () => {
      const g = '#publish';

      test(g, 'assigns offsets from 1, one per publication, per key', async () => {
        const a = uniqueKey();
        const b = uniqueKey();
        const { broker } = node.engine;
        const offsets = [];
        for (let i = 0; i < 3; i++) offsets.push((await broker.publish(a, input(a), OPTS)).publication.offset);
        offsets.push((await broker.publish(b, input(b), OPTS)).publication.offset);
        offsets.push((await broker.publish(a, input(a), OPTS)).publication.offset);
        assert.deepEqual(offsets, [1, 2, 3, 1, 4]);
      });

      test(g, 'keeps the epoch across publishes and reads', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        const first = await broker.publish(key, input(key), OPTS);
        const second = await broker.publish(key, input(key), OPTS);
        const page = await broker.history(key, {});
        assert.ok(first.publication.epoch.length > 0);
        assert.equal(second.publication.epoch, first.publication.epoch);
        assert.equal(page.epoch, first.publication.epoch);
        assert.equal(page.offset, 2);
      });

      test(g, 'returns the publication with the input fields, not a duplicate', async () => {
        const key = uniqueKey();
        const data = { text: 'héllo', list: [], nested: { n: 1, empty: {} }, nil: null };
        const pub = input(key, 'order:created', data, { audience: { roles: ['admin'], users: ['u1'] } });
        const result = await node.engine.broker.publish(key, pub, OPTS);
        assert.equal(result.duplicate, false);
        assert.deepEqual(result.publication, { ...pub, offset: 1, epoch: result.publication.epoch });
      });

      test(g, 'stores the audience and returns it from history; none when absent', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        await broker.publish(key, input(key, 'a', 1, { audience: { users: ['u7'] } }), OPTS);
        await broker.publish(key, input(key, 'b', 2), OPTS);
        const { publications } = await broker.history(key, {});
        assert.deepEqual(publications[0].audience, { users: ['u7'] });
        assert.equal('audience' in publications[1], false);
      });

      test(g, "stores a client publication's publisher stamp and returns it from history and delivery", async () => {
        const key = await subscribed();
        const { broker } = node.engine;
        const publisher = { userId: 'alice', info: { name: 'Alice' } };
        await broker.publish(key, input(key, 'a', 1, { publisher }), OPTS);
        await broker.publish(key, input(key, 'b', 2), OPTS);
        const { publications } = await broker.history(key, {});
        assert.deepEqual(publications[0].publisher, publisher);
        assert.equal('publisher' in publications[1], false);
        const [delivered] = await node.handler.waitPublications(key, 2);
        assert.deepEqual(delivered.publisher, publisher);
      });

      test(g, 'delivers a key’s publications to the handler in offset order', async () => {
        const key = await subscribed();
        const { broker } = node.engine;
        const n = 50;
        // Not awaited one by one: concurrent publishes must still be stored and delivered in one order.
        const results = await Promise.all(Array.from({ length: n }, (_, i) => broker.publish(key, input(key, 'e', { i }), OPTS)));
        const delivered = await node.handler.waitPublications(key, n);
        assert.deepEqual(delivered.map((p) => p.offset), Array.from({ length: n }, (_, i) => i + 1));
        // Stored order is delivery order: offset k carries the same publication everywhere.
        const byOffset = new Map(results.map((r) => [r.publication.offset, r.publication.id]));
        assert.deepEqual(delivered.map((p) => p.id), delivered.map((p) => byOffset.get(p.offset)));
        const page = await broker.history(key, {});
        assert.deepEqual(page.publications.map((p) => p.id), delivered.map((p) => p.id));
      });

      test(g, 'with a seen idempotency key returns the first publication and delivers nothing', async () => {
        const key = await subscribed();
        const { broker } = node.engine;
        const opts: PublishOptions = { ...OPTS, idempotency: { key: 'req-1', ttlMs: 60_000 } };
        const first = await broker.publish(key, input(key, 'e', 1), opts);
        const retry = await broker.publish(key, input(key, 'e', 2), opts);
        assert.equal(first.duplicate, false);
        assert.equal(retry.duplicate, true);
        assert.deepEqual(retry.publication, first.publication);
        // A later publication proves the duplicate would have arrived by now had it been sent.
        await broker.publish(key, input(key, 'sentinel'), OPTS);
        const delivered = await node.handler.waitPublications(key, 2);
        await sleep(50);
        assert.deepEqual(node.handler.publications(key).map((p) => p.event), ['e', 'sentinel']);
        assert.deepEqual(delivered.map((p) => p.offset), [1, 2]);
        assert.equal((await broker.history(key, {})).offset, 2);
      });

      test(g, 'treats an idempotency key as new once its TTL has passed', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        const opts: PublishOptions = { ...OPTS, idempotency: { key: 'req-ttl', ttlMs: 100 } };
        const first = await broker.publish(key, input(key), opts);
        await sleep(250);
        const again = await broker.publish(key, input(key), opts);
        assert.equal(again.duplicate, false);
        assert.equal(again.publication.offset, first.publication.offset + 1);
      });

      test(g, 'refuses data it could not read back, as a fault, and stores nothing', async () => {
        const key = await subscribed();
        const { broker } = node.engine;
        const tooDeep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
        const cycle: unknown[] = [];
        cycle.push(cycle);
        for (const data of [tooDeep, cycle, { n: 1n }]) {
          await assert.rejects(broker.publish(key, input(key, 'bad', data), OPTS), (err: Error) => !(err instanceof EngineUnavailableError));
        }
        const next = await broker.publish(key, input(key, 'good'), OPTS);
        assert.equal(next.publication.offset, 1);
        assert.deepEqual((await node.handler.waitPublications(key, 1)).map((p) => p.event), ['good']);
        assert.deepEqual((await broker.history(key, {})).publications.map((p) => p.event), ['good']);
      });

      test(g, 'scopes idempotency keys to the channel key', async () => {
        const a = uniqueKey();
        const b = uniqueKey();
        const { broker } = node.engine;
        const opts: PublishOptions = { ...OPTS, idempotency: { key: 'same', ttlMs: 60_000 } };
        const id = randomUUID();
        await broker.publish(a, input(a, 'e', 1, { id }), opts);
        const other = await broker.publish(b, input(b, 'e', 1, { id }), opts);
        assert.equal(other.duplicate, false);
        assert.equal(other.publication.channel, b.slice(b.indexOf(':') + 1));
      });
    });

    describe('#publishMany', () => {
      const g = '#publishMany';
      const item = (key: ChannelKey, event = 'e', data: unknown = {}, options: PublishOptions = OPTS) => ({ key, input: input(key, event, data), options });
      const stored = (r: PublishItemResult): StoredPublication => {
        if ('error' in r) throw r.error;
        return r.publication;
      };

      test(g, 'stores and delivers items in item order, with the offsets publishes one by one would get', async () => {
        const a = await subscribed();
        const b = await subscribed();
        const { broker } = node.engine;
        await broker.publish(a, input(a, 'before'), OPTS);
        const results = await broker.publishMany([item(a, 'a1'), item(b, 'b1'), item(a, 'a2'), item(a, 'a3'), item(b, 'b2')]);
        const pubs = results.map(stored);
        assert.deepEqual(pubs.map((p) => [p.event, p.offset]), [['a1', 2], ['b1', 1], ['a2', 3], ['a3', 4], ['b2', 2]]);
        assert.ok(results.every((r) => 'duplicate' in r && !r.duplicate));
        // A new stream gets its own epoch, kept by later publishes; an existing one keeps its epoch.
        const [first] = await node.handler.waitPublications(a, 1);
        assert.equal(pubs[0].epoch, first.epoch);
        assert.notEqual(pubs[1].epoch, pubs[0].epoch);
        assert.equal((await broker.publish(b, input(b, 'b3'), OPTS)).publication.epoch, pubs[1].epoch);
        assert.deepEqual((await node.handler.waitPublications(a, 4)).map((p) => p.event), ['before', 'a1', 'a2', 'a3']);
        assert.deepEqual((await node.handler.waitPublications(b, 3)).map((p) => p.event), ['b1', 'b2', 'b3']);
        assert.deepEqual((await broker.history(a, {})).publications.map((p) => p.event), ['before', 'a1', 'a2', 'a3']);
      });

      test(g, 'keeps item order and offsets over a batch of many items', async () => {
        const keys = [uniqueKey(), uniqueKey(), uniqueKey()];
        const { broker } = node.engine;
        const n = 450;
        const results = await broker.publishMany(Array.from({ length: n }, (_, i) => item(keys[i % 3], 'e', { i })));
        assert.deepEqual(results.map((r) => stored(r).offset), Array.from({ length: n }, (_, i) => Math.floor(i / 3) + 1));
        const page = await broker.history(keys[1], {});
        assert.equal(page.offset, n / 3);
        assert.deepEqual(page.publications.map((p) => (p.data as { i: number }).i), Array.from({ length: 100 }, (_, i) => n / 3 - 100 + i).map((k) => 3 * k + 1));
      });

      test(g, 'gives an item that cannot be stored its error and stores the others', async () => {
        const key = await subscribed();
        const { broker } = node.engine;
        const cycle: unknown[] = [];
        cycle.push(cycle);
        const results = await broker.publishMany([item(key, 'one'), item(key, 'bad', cycle), item(key, 'two')]);
        assert.ok('error' in results[1] && !(results[1].error instanceof EngineUnavailableError));
        assert.deepEqual([results[0], results[2]].map((r) => stored(r).offset), [1, 2]);
        assert.deepEqual((await node.handler.waitPublications(key, 2)).map((p) => p.event), ['one', 'two']);
        assert.deepEqual((await broker.history(key, {})).publications.map((p) => p.event), ['one', 'two']);
      });

      test(g, 'answers a seen idempotency key with the first publication, within one call and across calls', async () => {
        const key = await subscribed();
        const { broker } = node.engine;
        const opts: PublishOptions = { ...OPTS, idempotency: { key: 'batch-1', ttlMs: 60_000 } };
        const [first, retry, other] = await broker.publishMany([item(key, 'e', 1, opts), item(key, 'e', 2, opts), item(key, 'other')]);
        const again = await broker.publishMany([item(key, 'e', 3, opts)]);
        assert.ok('duplicate' in first && !first.duplicate);
        for (const r of [retry, again[0]]) {
          assert.ok('duplicate' in r && r.duplicate);
          assert.deepEqual(r.publication, stored(first));
        }
        assert.equal(stored(other).offset, 2);
        await broker.publish(key, input(key, 'sentinel'), OPTS);
        await node.handler.waitPublications(key, 3);
        await sleep(50);
        assert.deepEqual(node.handler.publications(key).map((p) => p.event), ['e', 'other', 'sentinel']);
      });
    });

    describe('#nodeCount', () => {
      test('#nodeCount', 'counts this node', async () => {
        assert.ok((await node.engine.broker.nodeCount()) >= 1);
      });
    });

    describe('#reserveId', () => {
      const g = '#reserveId';

      test(g, 'keeps the first id for an idempotency key of a tenant until its TTL passes', async () => {
        const { broker } = node.engine;
        const tenant = `t-${randomUUID()}`;
        assert.equal(await broker.reserveId(tenant, 'k', 'first', 60_000), 'first');
        assert.equal(await broker.reserveId(tenant, 'k', 'second', 60_000), 'first');
        assert.equal(await broker.reserveId(tenant, 'other', 'third', 60_000), 'third');
        assert.equal(await broker.reserveId(`t-${randomUUID()}`, 'k', 'fourth', 60_000), 'fourth', 'another tenant has its own keys');
        assert.equal(await broker.reserveId(tenant, 'short', 'fifth', 50), 'fifth');
        await sleep(120);
        assert.equal(await broker.reserveId(tenant, 'short', 'sixth', 60_000), 'sixth');
      });
    });

    describe('#history', () => {
      const g = '#history';

      test(g, 'of an unknown key creates a stable epoch that a later publish uses', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        const one = await broker.history(key, {});
        const two = await broker.history(key, { limit: 0 });
        assert.deepEqual(one, { epoch: one.epoch, offset: 0, publications: [] });
        assert.ok(one.epoch.length > 0);
        assert.equal(two.epoch, one.epoch);
        const published = await broker.publish(key, input(key), OPTS);
        assert.equal(published.publication.epoch, one.epoch);
        assert.equal(published.publication.offset, 1);
      });

      test(g, 'keeps the newest `size` publications', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        const opts: PublishOptions = { history: { ...LONG, size: 3 } };
        for (let i = 0; i < 5; i++) await broker.publish(key, input(key), opts);
        const page = await broker.history(key, {});
        assert.equal(page.offset, 5);
        assert.deepEqual(page.publications.map((p) => p.offset), [3, 4, 5]);
      });

      test(g, 'keeps nothing with size 0, while offsets still advance', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        const opts: PublishOptions = { history: { ...LONG, size: 0 } };
        await broker.publish(key, input(key), opts);
        const second = await broker.publish(key, input(key), opts);
        const page = await broker.history(key, {});
        assert.equal(second.publication.offset, 2);
        assert.deepEqual({ offset: page.offset, n: page.publications.length }, { offset: 2, n: 0 });
        assert.equal(page.epoch, second.publication.epoch);
      });

      test(g, 'drops what it kept once the channel keeps nothing, within a batch too', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        const keep: PublishOptions = { history: { ...LONG, size: 10 } };
        const none: PublishOptions = { history: { ...LONG, size: 0 } };
        await broker.publish(key, input(key, 'kept'), keep);
        await broker.publish(key, input(key, 'nothing'), none);
        assert.deepEqual((await broker.history(key, {})).publications, []);
        const results = await broker.publishMany([
          { key, input: input(key, 'a'), options: keep },
          { key, input: input(key, 'b'), options: none },
          { key, input: input(key, 'c'), options: keep },
        ]);
        assert.deepEqual(results.map((r) => ('error' in r ? r.error.message : r.publication.offset)), [3, 4, 5]);
        const page = await broker.history(key, {});
        assert.deepEqual({ offset: page.offset, events: page.publications.map((p) => p.event) }, { offset: 5, events: ['c'] });
      });

      test(g, 'keeps the epoch while publications come within metaTtlMs of each other', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        const opts: PublishOptions = { history: { size: 0, ttlMs: 0, metaTtlMs: 300 } };
        const first = await broker.publish(key, input(key), opts);
        for (let i = 0; i < 4; i++) {
          await sleep(150);
          const next = await broker.publish(key, input(key), opts);
          assert.deepEqual({ epoch: next.publication.epoch, offset: next.publication.offset }, { epoch: first.publication.epoch, offset: i + 2 });
        }
      });

      test(g, 'drops publications older than ttlMs but keeps the epoch and offset', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        const opts: PublishOptions = { history: { ...LONG, ttlMs: 250 } };
        const old = await broker.publish(key, input(key), opts);
        await sleep(400);
        const fresh = await broker.publish(key, input(key), opts);
        const page = await broker.history(key, {});
        assert.deepEqual(page.publications.map((p) => p.offset), [2]);
        assert.equal(page.epoch, old.publication.epoch);
        assert.equal(fresh.publication.offset, 2);
        await sleep(400);
        const later = await broker.history(key, {});
        assert.deepEqual({ offset: later.offset, n: later.publications.length, epoch: later.epoch }, { offset: 2, n: 0, epoch: old.publication.epoch });
      });

      test(g, 'forgets the epoch and offset metaTtlMs after the last publication', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        const opts: PublishOptions = { history: { size: 10, ttlMs: 100, metaTtlMs: 150 } };
        const first = await broker.publish(key, input(key), opts);
        await sleep(350);
        const page = await broker.history(key, {});
        assert.notEqual(page.epoch, first.publication.epoch);
        assert.deepEqual({ offset: page.offset, n: page.publications.length }, { offset: 0, n: 0 });
        const next = await broker.publish(key, input(key), opts);
        assert.deepEqual({ offset: next.publication.offset, epoch: next.publication.epoch }, { offset: 1, epoch: page.epoch });
      });

      test(g, 'skips an entry it cannot read and lists its offset, whatever the query', async () => {
        const key = uniqueKey();
        const { broker } = node.engine;
        await broker.publish(key, input(key, 'before'), OPTS);
        const bad = await options.plantUnreadable(node.engine, key);
        await broker.publish(key, input(key, 'after'), OPTS);
        assert.equal(bad, 2);
        const read = async (query: Parameters<Engine['broker']['history']>[1]) => {
          const page = await broker.history(key, query);
          // Whatever is handed out can be encoded.
          JSON.stringify(page);
          return { offsets: page.publications.map((p) => p.offset), unreadable: page.unreadable, offset: page.offset };
        };
        assert.deepEqual(await read({}), { offsets: [1, 3], unreadable: [2], offset: 3 });
        assert.deepEqual(await read({ afterOffset: 1 }), { offsets: [3], unreadable: [2], offset: 3 });
        assert.deepEqual(await read({ limit: 2 }), { offsets: [3], unreadable: [2], offset: 3 });
        assert.deepEqual(await read({ afterOffset: 2 }), { offsets: [3], unreadable: undefined, offset: 3 });
        // The stream goes on.
        assert.equal((await broker.publish(key, input(key), OPTS)).publication.offset, 4);
      });

      describe('queries', () => {
        const q = '#history > queries';
        let key: ChannelKey;
        const offsets = async (query: Parameters<Engine['broker']['history']>[1]): Promise<number[]> => {
          const page = await node.engine.broker.history(key, query);
          assert.equal(page.offset, 10);
          return page.publications.map((p) => p.offset);
        };

        before(async () => {
          key = uniqueKey();
          for (let i = 0; i < 10; i++) await node.engine.broker.publish(key, input(key, 'e', i), OPTS);
        });

        test(q, 'without options returns everything kept, oldest first', async () => {
          assert.deepEqual(await offsets({}), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        });

        test(q, 'afterOffset returns only greater offsets, oldest first', async () => {
          assert.deepEqual(await offsets({ afterOffset: 6 }), [7, 8, 9, 10]);
          assert.deepEqual(await offsets({ afterOffset: 0 }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        });

        test(q, 'afterOffset with limit returns the oldest `limit` after the offset', async () => {
          assert.deepEqual(await offsets({ afterOffset: 4, limit: 3 }), [5, 6, 7]);
          assert.deepEqual(await offsets({ afterOffset: 8, limit: 5 }), [9, 10]);
          assert.deepEqual(await offsets({ afterOffset: 4, limit: 0 }), []);
        });

        test(q, 'afterOffset at or beyond the stream’s offset returns nothing', async () => {
          assert.deepEqual(await offsets({ afterOffset: 10 }), []);
          assert.deepEqual(await offsets({ afterOffset: 25 }), []);
        });

        test(q, 'limit without afterOffset returns the newest `limit`, oldest first', async () => {
          assert.deepEqual(await offsets({ limit: 3 }), [8, 9, 10]);
          assert.deepEqual(await offsets({ limit: 50 }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        });

        test(q, 'limit 0 returns only the position', async () => {
          assert.deepEqual(await offsets({ limit: 0 }), []);
        });

        test(q, 'returns the publications as published', async () => {
          const page = await node.engine.broker.history(key, { afterOffset: 2, limit: 1 });
          assert.equal(page.publications[0].data, 2);
          assert.equal(page.publications[0].channel, key.slice(key.indexOf(':') + 1));
        });
      });
    });

    describe('#subscribe', () => {
      const g = '#subscribe';

      test(g, 'delivers a subscribed key’s publications, joins and leaves', async () => {
        const key = await subscribed();
        const { broker } = node.engine;
        const user = { userId: 'u1', connections: 1, info: { name: 'Ann' } };
        await broker.publishJoinLeave('join', key, user);
        await broker.publish(key, input(key), OPTS);
        await broker.publishJoinLeave('leave', key, { userId: 'u1', connections: 0 });
        const messages = await waitFor(() => {
          const got = node.handler.forKey(key);
          return got.length >= 3 ? got : undefined;
        }, 'join, publication and leave');
        assert.deepEqual(messages.map((m) => m.kind), ['join', 'pub', 'leave']);
        assert.deepEqual(messages[0], { kind: 'join', key, user });
        assert.deepEqual(messages[2], { kind: 'leave', key, user: { userId: 'u1', connections: 0 } });
      });

      test(g, 'is idempotent: subscribing twice delivers once', async () => {
        const key = await subscribed();
        const { broker } = node.engine;
        await broker.subscribe(key);
        await broker.publish(key, input(key, 'once'), OPTS);
        await broker.publish(key, input(key, 'sentinel'), OPTS);
        await node.handler.waitPublications(key, 2);
        await sleep(50);
        assert.deepEqual(node.handler.publications(key).map((p) => p.event), ['once', 'sentinel']);
      });

      const onlySubscribed = options.deliversOnlySubscribed ? undefined : 'this engine delivers every key (subscribe is a no-op)';

      test(g, 'does not deliver keys the node is not subscribed to', async () => {
        const watched = await subscribed('watched');
        const other = uniqueKey('other');
        const { broker } = node.engine;
        await broker.publish(other, input(other), OPTS);
        await broker.publishJoinLeave('join', other, { userId: 'u', connections: 1 });
        await broker.publish(watched, input(watched, 'sentinel'), OPTS);
        await node.handler.waitPublications(watched, 1);
        await sleep(50);
        assert.deepEqual(node.handler.forKey(other), []);
      }, onlySubscribed);

      test(g, 'stops delivering after unsubscribe', async () => {
        const key = await subscribed('leaving');
        const watched = await subscribed('watched');
        const { broker } = node.engine;
        await broker.publish(key, input(key, 'before'), OPTS);
        await node.handler.waitPublications(key, 1);
        await broker.unsubscribe(key);
        await broker.publish(key, input(key, 'after'), OPTS);
        await broker.publish(watched, input(watched, 'sentinel'), OPTS);
        await node.handler.waitPublications(watched, 1);
        await sleep(50);
        assert.deepEqual(node.handler.publications(key).map((p) => p.event), ['before']);
        await broker.unsubscribe(key); // idempotent
      }, onlySubscribed);

      test(g, 'delivers again after unsubscribe and subscribe', async () => {
        const key = await subscribed();
        const { broker } = node.engine;
        await broker.unsubscribe(key);
        await broker.subscribe(key);
        await broker.publish(key, input(key), OPTS);
        assert.equal((await node.handler.waitPublications(key, 1)).length, 1);
      });
    });

    describe('#publishControl', () => {
      test('#publishControl', 'delivers a command to the handler, the sender’s included', async () => {
        const command: ControlCommand = { kind: 'disconnect', tenant: `t-${randomUUID()}`, userId: 'u1', code: 4001, reason: 'revoked' };
        await node.engine.broker.publishControl(command);
        const got = await waitFor(() => node.handler.controls.find((c) => c.kind === 'disconnect' && c.tenant === command.tenant), 'the command');
        assert.deepEqual(got, command);
      });
    });

    describe('presence', () => {
      const g = 'presence';

      test(g, 'join says whether it is the user’s first connection in the channel', async () => {
        const key = uniqueKey();
        const { presence } = node.engine;
        assert.deepEqual(await presence.join(key, { connectionId: 'c1', userId: 'u1', info: { name: 'Ann' } }), { first: true, occupied: true });
        assert.deepEqual(await presence.join(key, { connectionId: 'c2', userId: 'u1', info: { name: 'Ann' } }), { first: false, occupied: false });
        assert.deepEqual(await presence.join(key, { connectionId: 'c3', userId: 'u2' }), { first: true, occupied: false });
        assert.deepEqual(await presence.join(uniqueKey(), { connectionId: 'c4', userId: 'u1' }), { first: true, occupied: true });
      });

      test(g, 'list gives users with connection counts and info; count gives connections', async () => {
        const key = uniqueKey();
        const { presence } = node.engine;
        assert.deepEqual(await presence.list(key), []);
        assert.equal(await presence.count(key), 0);
        await presence.join(key, { connectionId: 'c1', userId: 'u1', info: { name: 'Ann', tags: [] } });
        await presence.join(key, { connectionId: 'c2', userId: 'u1', info: { name: 'Ann', tags: [] } });
        await presence.join(key, { connectionId: 'c3', userId: 'u2' });
        const users = (await presence.list(key)).sort((a, b) => a.userId.localeCompare(b.userId));
        assert.deepEqual(users, [
          { userId: 'u1', connections: 2, info: { name: 'Ann', tags: [] } },
          { userId: 'u2', connections: 1 },
        ]);
        assert.equal(await presence.count(key), 3);
      });

      test(g, 'leave says whether it was the user’s last connection', async () => {
        const key = uniqueKey();
        const { presence } = node.engine;
        await presence.join(key, { connectionId: 'c1', userId: 'u1' });
        await presence.join(key, { connectionId: 'c2', userId: 'u1' });
        await presence.join(key, { connectionId: 'c3', userId: 'u2' });
        assert.deepEqual(await presence.leave(key, { connectionId: 'c1', userId: 'u1' }), { last: false, vacated: false });
        assert.deepEqual(await presence.leave(key, { connectionId: 'c2', userId: 'u1' }), { last: true, vacated: false });
        assert.deepEqual(await presence.leave(key, { connectionId: 'c2', userId: 'u1' }), { last: false, vacated: false });
        assert.deepEqual(await presence.leave(key, { connectionId: 'nope', userId: 'u9' }), { last: false, vacated: false });
        assert.deepEqual(await presence.list(key), [{ userId: 'u2', connections: 1 }]);
        assert.equal(await presence.count(key), 1);
        assert.deepEqual(await presence.leave(key, { connectionId: 'c3', userId: 'u2' }), { last: true, vacated: true });
        assert.deepEqual(await presence.list(key), []);
        assert.equal(await presence.count(key), 0);
      });
    });

    describe('connections', () => {
      const g = 'connections';
      const entry = (connectionId: string, userId: string, connectedAt: number) => ({ connectionId, userId, connectedAt });

      test(g, 'add returns the user’s connections, oldest first, this one included', async () => {
        const tenant = `t-${randomUUID()}`;
        const { connections } = node.engine;
        assert.deepEqual(await connections.add(tenant, entry('c2', 'u1', 2000)), [entry('c2', 'u1', 2000)]);
        assert.deepEqual(await connections.add(tenant, entry('c3', 'u1', 3000)), [entry('c2', 'u1', 2000), entry('c3', 'u1', 3000)]);
        assert.deepEqual(await connections.add(tenant, entry('c1', 'u1', 1000)), [
          entry('c1', 'u1', 1000),
          entry('c2', 'u1', 2000),
          entry('c3', 'u1', 3000),
        ]);
        assert.deepEqual(await connections.add(tenant, entry('c4', 'u2', 4000)), [entry('c4', 'u2', 4000)]);
      });

      test(g, 'remove says whether it was the user’s last connection in the tenant', async () => {
        const tenant = `t-${randomUUID()}`;
        const { connections } = node.engine;
        await connections.add(tenant, entry('c1', 'u1', 1000));
        await connections.add(tenant, entry('c2', 'u1', 2000));
        assert.deepEqual(await connections.remove(tenant, entry('c1', 'u1', 1000)), { last: false });
        assert.deepEqual(await connections.remove(tenant, entry('c2', 'u1', 2000)), { last: true });
        assert.deepEqual(await connections.remove(tenant, entry('c2', 'u1', 2000)), { last: false });
        assert.deepEqual(await connections.remove(tenant, entry('nope', 'u9', 1)), { last: false });
      });

      test(g, 'tenantCount counts the tenant’s connections only', async () => {
        const tenant = `t-${randomUUID()}`;
        const other = `t-${randomUUID()}`;
        const { connections } = node.engine;
        assert.equal(await connections.tenantCount(tenant), 0);
        await connections.add(tenant, entry('c1', 'u1', 1000));
        await connections.add(tenant, entry('c2', 'u1', 2000));
        await connections.add(tenant, entry('c3', 'u2', 3000));
        await connections.add(other, entry('c4', 'u1', 4000));
        assert.equal(await connections.tenantCount(tenant), 3);
        await connections.remove(tenant, entry('c2', 'u1', 2000));
        assert.equal(await connections.tenantCount(tenant), 2);
        assert.equal(await connections.tenantCount(other), 1);
      });
    });

    describe('locks', () => {
      const g = 'locks';
      const holder = (connectionId: string, userId = 'u1') => ({ connectionId, userId, info: { name: userId } });

      test(g, 'a free lock is taken; a held one reports its holder', async () => {
        const key = `lock-${randomUUID()}`;
        const { locks } = node.engine;
        const first = await locks.acquire(key, holder('c1'), 60_000);
        assert.equal(first.acquired, true);
        assert.deepEqual(first.state.holder, holder('c1'));
        const second = await locks.acquire(key, holder('c2', 'u2'), 60_000);
        assert.equal(second.acquired, false);
        assert.deepEqual(second.state.holder, holder('c1'));
        assert.ok(second.state.expiresAt > Date.now() + 50_000);
        assert.deepEqual((await locks.get(key))?.holder, holder('c1'));
      });

      test(g, 'the holder re-acquires and refreshes; others cannot refresh or release', async () => {
        const key = `lock-${randomUUID()}`;
        const { locks } = node.engine;
        await locks.acquire(key, holder('c1'), 200);
        assert.equal((await locks.acquire(key, holder('c1'), 60_000)).acquired, true);
        assert.equal(await locks.refresh(key, 'c2', 60_000), false);
        assert.equal(await locks.release(key, 'c2'), false);
        assert.equal(await locks.refresh(key, 'c1', 60_000), true);
        assert.equal(await locks.release(key, 'c1'), true);
        assert.equal(await locks.get(key), undefined);
        assert.equal(await locks.release(key, 'c1'), false);
      });

      test(g, 'a lock that is not refreshed expires and can be taken', async () => {
        const key = `lock-${randomUUID()}`;
        const { locks } = node.engine;
        await locks.acquire(key, holder('c1'), 60);
        await sleep(150);
        assert.equal(await locks.get(key), undefined);
        assert.equal(await locks.refresh(key, 'c1', 60_000), false);
        assert.equal((await locks.acquire(key, holder('c2'), 60_000)).acquired, true);
      });
    });

    describe('resume records', () => {
      const g = 'resume records';
      test(g, 'saves, loads and removes a record', async () => {
        const id = `s-${randomUUID()}`;
        const records = node.engine.resumeRecords;
        assert.equal(await records.load(id), undefined);
        await records.save(id, '{"a":1}', 60_000);
        assert.equal(await records.load(id), '{"a":1}');
        await records.save(id, '{"a":2}', 60_000);
        assert.equal(await records.load(id), '{"a":2}');
        await records.remove(id);
        assert.equal(await records.load(id), undefined);
      });

      test(g, 'forgets a record after its TTL', async () => {
        const id = `s-${randomUUID()}`;
        await node.engine.resumeRecords.save(id, 'x', 50);
        await sleep(120);
        assert.equal(await node.engine.resumeRecords.load(id), undefined);
      });
    });

    describe('lifecycle', () => {
      test('lifecycle', 'is ready once started and not after close', async () => {
        const engine = await options.create();
        await engine.start(new RecordingHandler());
        assert.equal(engine.isReady(), true);
        await engine.close();
        assert.equal(engine.isReady(), false);
      });
    });

    describe('cluster', () => {
      const g = 'cluster';
      const single = options.shared ? undefined : 'engine instances do not share a backend';
      let a: Node;
      let b: Node;

      before(async () => {
        if (single) return;
        a = await startNode();
        b = await startNode();
      });

      test(g, 'a publication on one node reaches the other and its history', async () => {
        const key = uniqueKey();
        await a.engine.broker.subscribe(key);
        const published = await b.engine.broker.publish(key, input(key, 'from-b'), OPTS);
        const [delivered] = await a.handler.waitPublications(key, 1);
        assert.deepEqual(delivered, published.publication);
        const page = await a.engine.broker.history(key, {});
        assert.deepEqual(page.publications, [published.publication]);
        const next = await a.engine.broker.publish(key, input(key), OPTS);
        assert.deepEqual({ offset: next.publication.offset, epoch: next.publication.epoch }, { offset: 2, epoch: published.publication.epoch });
      }, single);

      test(g, 'a batch reaches the other node as it was stored, each key in offset order', async () => {
        const [k1, k2] = [uniqueKey(), uniqueKey()];
        await a.engine.broker.subscribe(k1);
        await a.engine.broker.subscribe(k2);
        const audience = { roles: ['staff'] };
        const publisher = { userId: 'u-1' };
        const items = [k1, k2, k1, k1, k2].map((key, i) => ({ key, input: { ...input(key, `e${i}`, { i, list: [] }), ...(i === 2 ? { audience, publisher } : {}) }, options: OPTS }));
        const results = await b.engine.broker.publishMany(items);
        const stored = results.map((r) => {
          if ('error' in r) throw r.error;
          return r.publication;
        });
        assert.deepEqual(await a.handler.waitPublications(k1, 3), [stored[0], stored[2], stored[3]]);
        assert.deepEqual(await a.handler.waitPublications(k2, 2), [stored[1], stored[4]]);
        assert.deepEqual(stored[2].audience, audience);
        assert.deepEqual((await a.engine.broker.history(k1, {})).publications, [stored[0], stored[2], stored[3]]);
      }, single);

      test(g, 'concurrent publishes from two nodes are delivered to both in offset order', async () => {
        const key = uniqueKey();
        await a.engine.broker.subscribe(key);
        await b.engine.broker.subscribe(key);
        const n = 40;
        await Promise.all(
          Array.from({ length: n }, (_, i) => (i % 2 ? a : b).engine.broker.publish(key, input(key, 'e', i), OPTS)),
        );
        const expected = Array.from({ length: n }, (_, i) => i + 1);
        const onA = await a.handler.waitPublications(key, n);
        const onB = await b.handler.waitPublications(key, n);
        assert.deepEqual(onA.map((p) => p.offset), expected);
        assert.deepEqual(onB.map((p) => p.id), onA.map((p) => p.id));
      }, single);

      test(g, 'nodes see one epoch for a key first read on one of them', async () => {
        const key = uniqueKey();
        const first = await a.engine.broker.history(key, {});
        const second = await b.engine.broker.history(key, {});
        assert.equal(second.epoch, first.epoch);
      }, single);

      test(g, 'idempotency holds across nodes', async () => {
        const key = uniqueKey();
        const opts: PublishOptions = { ...OPTS, idempotency: { key: 'x', ttlMs: 60_000 } };
        const first = await a.engine.broker.publish(key, input(key), opts);
        const retry = await b.engine.broker.publish(key, input(key), opts);
        assert.equal(retry.duplicate, true);
        assert.deepEqual(retry.publication, first.publication);
      }, single);

      test(g, 'counts the nodes that receive control commands', async () => {
        await waitFor(async () => ((await a.engine.broker.nodeCount()) >= 2 ? true : undefined), 'both nodes counted');
        assert.equal(await b.engine.broker.nodeCount(), await a.engine.broker.nodeCount());
      }, single);

      test(g, 'a reserved id holds across nodes', async () => {
        const tenant = `t-${randomUUID()}`;
        assert.equal(await a.engine.broker.reserveId(tenant, 'k', 'from-a', 60_000), 'from-a');
        assert.equal(await b.engine.broker.reserveId(tenant, 'k', 'from-b', 60_000), 'from-a');
      }, single);

      test(g, 'joins, leaves and control commands reach the other node', async () => {
        const key = uniqueKey();
        await a.engine.broker.subscribe(key);
        await b.engine.broker.publishJoinLeave('join', key, { userId: 'u1', connections: 1 });
        await waitFor(() => a.handler.forKey(key).find((m) => m.kind === 'join'), 'the join');
        const command: ControlCommand = { kind: 'disconnect', tenant: `t-${randomUUID()}`, code: 4000, reason: 'test' };
        await b.engine.broker.publishControl(command);
        await waitFor(() => a.handler.controls.find((c) => c.kind === 'disconnect' && c.tenant === command.tenant), 'the command on a');
        await waitFor(() => b.handler.controls.find((c) => c.kind === 'disconnect' && c.tenant === command.tenant), 'the command on b');
      }, single);

      test(g, 'presence is shared: first and last across nodes, one list', async () => {
        const key = uniqueKey();
        assert.deepEqual(await a.engine.presence.join(key, { connectionId: 'ca', userId: 'u1', info: { n: 1 } }), { first: true, occupied: true });
        assert.deepEqual(await b.engine.presence.join(key, { connectionId: 'cb', userId: 'u1', info: { n: 1 } }), { first: false, occupied: false });
        assert.deepEqual(await b.engine.presence.join(key, { connectionId: 'cc', userId: 'u2' }), { first: true, occupied: false });
        const users = (await a.engine.presence.list(key)).sort((x, y) => x.userId.localeCompare(y.userId));
        assert.deepEqual(users, [
          { userId: 'u1', connections: 2, info: { n: 1 } },
          { userId: 'u2', connections: 1 },
        ]);
        assert.equal(await b.engine.presence.count(key), 3);
        assert.deepEqual(await a.engine.presence.leave(key, { connectionId: 'ca', userId: 'u1' }), { last: false, vacated: false });
        assert.deepEqual(await b.engine.presence.leave(key, { connectionId: 'cb', userId: 'u1' }), { last: true, vacated: false });
      }, single);

      test(g, 'of concurrent joins and leaves on two nodes, exactly one occupies and one vacates the channel', async () => {
        const key = uniqueKey();
        const entries = Array.from({ length: 20 }, (_, i) => ({ connectionId: `c${i}`, userId: `u${i % 5}` }));
        const joins = await Promise.all(entries.map((e, i) => (i % 2 ? a : b).engine.presence.join(key, e)));
        assert.equal(joins.filter((j) => j.occupied).length, 1);
        assert.equal(joins.filter((j) => j.first).length, 5);
        const leaves = await Promise.all(entries.map((e, i) => (i % 2 ? b : a).engine.presence.leave(key, e)));
        assert.equal(leaves.filter((l) => l.vacated).length, 1);
        assert.equal(leaves.filter((l) => l.last).length, 5);
      }, single);

      test(g, 'locks are shared', async () => {
        const key = `lock-${randomUUID()}`;
        assert.equal((await a.engine.locks.acquire(key, { connectionId: 'ca', userId: 'u1' }, 60_000)).acquired, true);
        const other = await b.engine.locks.acquire(key, { connectionId: 'cb', userId: 'u2' }, 60_000);
        assert.equal(other.acquired, false);
        assert.equal(other.state.holder.connectionId, 'ca');
        assert.equal(await b.engine.locks.release(key, 'ca'), true);
      }, single);

      test(g, 'session records are shared', async () => {
        const id = `s-${randomUUID()}`;
        await a.engine.resumeRecords.save(id, 'kept', 60_000);
        assert.equal(await b.engine.resumeRecords.load(id), 'kept');
      }, single);

      test(g, 'the connection registry is shared', async () => {
        const tenant = `t-${randomUUID()}`;
        await a.engine.connections.add(tenant, { connectionId: 'ca', userId: 'u1', connectedAt: 1000 });
        const list = await b.engine.connections.add(tenant, { connectionId: 'cb', userId: 'u1', connectedAt: 2000 });
        assert.deepEqual(list.map((e) => e.connectionId), ['ca', 'cb']);
        assert.equal(await a.engine.connections.tenantCount(tenant), 2);
        assert.deepEqual(await a.engine.connections.remove(tenant, { connectionId: 'cb', userId: 'u1', connectedAt: 2000 }), { last: false });
        assert.deepEqual(await b.engine.connections.remove(tenant, { connectionId: 'ca', userId: 'u1', connectedAt: 1000 }), { last: true });
        assert.equal(await b.engine.connections.tenantCount(tenant), 0);
      }, single);
    });
  });
}
