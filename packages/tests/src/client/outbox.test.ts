import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeraldClient, HeraldError, OutboxItem } from '@herald/client';
import { startHerald } from '@herald/server/testing';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { testClient } from '../support/herald-client.js';
import { waitFor } from '../support/wait.js';

/** A second client that records what arrives on a channel. */
async function observe(client: HeraldClient, channel: string): Promise<{ data: unknown[]; ids: string[] }> {
  const seen = { data: [] as unknown[], ids: [] as string[] };
  const sub = client.subscribe(channel);
  sub.onPublication((p) => {
    seen.data.push(p.data);
    seen.ids.push(p.id);
  });
  await new Promise((resolve) => sub.onSubscribed(resolve));
  return seen;
}

describe('Outbox', () => {
  it('queues publications while offline and delivers each once after the reconnect', async () => {
    await using herald = await startHerald();
    await using proxy = await startTcpProxy(herald.url);
    const writer = testClient(proxy.wsUrl, { token: await herald.token({ sub: 'alice' }) });
    const reader = testClient(herald.wsUrl, { token: await herald.token({ sub: 'bob' }) });
    try {
      const seen = await observe(reader, 'chat');
      await writer.whenConnected();
      proxy.refuse();
      proxy.cut();
      await waitFor(() => writer.status === 'reconnecting', 'reconnecting');
      const sends = [1, 2, 3].map((n) => writer.publish('chat', 'message', { n }));
      await waitFor(() => writer.outbox.size === 3, 'three queued items');
      assert.equal(seen.data.length, 0);
      proxy.accept();
      const results = await Promise.all(sends);
      assert.deepEqual(results.map((r) => r.offset), [1, 2, 3]);
      await waitFor(() => seen.data.length === 3, 'three deliveries');
      assert.deepEqual(seen.data, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      assert.equal(writer.outbox.size, 0);
      const history = await reader.history('chat');
      assert.equal(history.publications.length, 3);
    } finally {
      writer.close();
      reader.close();
    }
  });

  it('delivers what its store held even when the connection came up before the store was read', async () => {
    await using herald = await startHerald();
    const reader = testClient(herald.wsUrl, { token: await herald.token({ sub: 'bob' }) });
    let connected: () => void = () => {};
    const up = new Promise<void>((resolve) => (connected = resolve));
    const stored: OutboxItem[] = [1, 2].map((n) => ({ key: `k${n}`, channel: 'chat', event: 'message', data: { n }, createdAt: 0, failures: 0, nextAttemptAt: 0 }));
    // A store that answers only once the client is connected: a slow disk, a large file.
    const slowStore = { load: async () => (await up, stored), save: async () => {} };
    const writer = testClient(herald.wsUrl, { token: await herald.token({ sub: 'alice' }), outbox: { store: slowStore } });
    try {
      const seen = await observe(reader, 'chat');
      await writer.whenConnected();
      connected();
      await waitFor(() => seen.data.length === 2, 'the stored items delivered');
      assert.deepEqual(seen.data, [{ n: 1 }, { n: 2 }]);
    } finally {
      writer.close();
      reader.close();
    }
  });

  it('holds at most 100 items, evicting the oldest with an event', async () => {
    await using herald = await startHerald();
    await using proxy = await startTcpProxy(herald.url);
    proxy.refuse();
    const writer = testClient(proxy.wsUrl, { token: await herald.token({ sub: 'alice' }) });
    const reader = testClient(herald.wsUrl, { token: await herald.token({ sub: 'bob' }) });
    const evicted: OutboxItem[] = [];
    writer.on('outbox:evicted', ({ item }) => evicted.push(item));
    try {
      const seen = await observe(reader, 'chat');
      const sends = Array.from({ length: 101 }, (_, n) => writer.publish('chat', 'message', n));
      await assert.rejects(sends[0], (err: HeraldError) => err.code === 'evicted');
      assert.equal(writer.outbox.size, 100);
      assert.deepEqual(evicted.map((item) => item.data), [0]);
      proxy.accept();
      await Promise.all(sends.slice(1));
      await waitFor(() => seen.data.length === 100, '100 deliveries');
      assert.deepEqual(seen.data, Array.from({ length: 100 }, (_, n) => n + 1));
    } finally {
      writer.close();
      reader.close();
    }
  });

  it('retries a refused item on its schedule, raises outbox:stalled after 5 failures, and keeps later items in order', async () => {
    await using herald = await startHerald({
      channels: {
        rules: [
          { pattern: 'locked:*', subscribe: 'all', publish: 'none' },
          { pattern: '*', subscribe: 'all', publish: 'all', history: { size: 100, ttl: '5m' } },
        ],
      },
    });
    const retrySchedule = [20, 60, 180, 540];
    const retryEvery = 60_000;
    const writer = testClient(herald.wsUrl, { token: await herald.token({ sub: 'alice' }), outbox: { retrySchedule, retryEvery } });
    const failures: { at: number; failures: number; retryIn: number; code: string }[] = [];
    const stalled: { item: OutboxItem; failures: number }[] = [];
    writer.on('outbox:failed', ({ item, error, retryIn }) => failures.push({ at: Date.now(), failures: item.failures, retryIn, code: error.code }));
    writer.on('outbox:stalled', (event) => stalled.push(event));
    try {
      await writer.whenConnected();
      const refused = writer.publish('locked:doc', 'edit', { v: 1 });
      const behind = writer.publish('open', 'edit', { v: 2 });
      await waitFor(() => stalled.length === 1, 'outbox:stalled', 5000);
      assert.deepEqual(failures.map((f) => f.failures), [1, 2, 3, 4, 5]);
      assert.deepEqual(failures.map((f) => f.retryIn), [...retrySchedule, retryEvery]);
      assert.ok(failures.every((f) => f.code === 'forbidden'));
      for (let i = 1; i < failures.length; i++) {
        const waited = failures[i].at - failures[i - 1].at;
        assert.ok(waited >= failures[i - 1].retryIn - 1, `attempt ${i + 1} came ${waited} ms after the previous failure, before its ${failures[i - 1].retryIn} ms wait`);
      }
      assert.equal(stalled[0].failures, 5);
      assert.equal(writer.outbox.size, 2, 'the later item waits behind the stalled one');
      // The user gives up on the stalled item: the next one goes out.
      writer.outbox.remove(stalled[0].item.key);
      await assert.rejects(refused, (err: HeraldError) => err.code === 'closed');
      assert.equal((await behind).offset, 1);
    } finally {
      writer.close();
    }
  });

  it('never publishes twice when a reply is lost and the item is retried', async () => {
    await using herald = await startHerald({ heartbeat: { interval: 200, timeout: 2000 } });
    await using proxy = await startTcpProxy(herald.url);
    const writer = testClient(proxy.wsUrl, { token: await herald.token({ sub: 'alice' }) });
    const reader = testClient(herald.wsUrl, { token: await herald.token({ sub: 'bob' }) });
    try {
      const seen = await observe(reader, 'chat');
      const first = await writer.whenConnected();
      // Requests still reach the server; nothing comes back.
      proxy.stall('down');
      const sent = writer.publish('chat', 'message', 'once');
      await waitFor(() => seen.data.length === 1, 'the publication to reach the reader');
      const result = await sent;
      assert.notEqual(writer.connection?.connectionId, first.connectionId, 'the retry went over a new connection');
      assert.equal(result.id, seen.ids[0], 'the retry returned the first publication');
      const history = await reader.history('chat');
      assert.deepEqual(history.publications.map((p) => p.data), ['once']);
      assert.deepEqual(seen.data, ['once']);
    } finally {
      writer.close();
      reader.close();
    }
  });
});
