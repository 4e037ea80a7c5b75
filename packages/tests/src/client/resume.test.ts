import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryStorage, type SubscribeResult } from '@herald/client';
import { startHerald } from '@herald/server/testing';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { testClient } from '../support/herald-client.js';
import { sleep, waitFor } from '../support/wait.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('HeraldClient', () => {
  describe('#subscribe', () => {
    it('delivers offsets 1..N exactly once, in order, across a cut while the server keeps publishing', async () => {
      // History holds every publication of the test, however many land while the link is down:
      // this case is about replay, not about a trimmed history (the case below).
      await using herald = await startHerald({
        channels: { rules: [{ pattern: '*', subscribe: 'all', publish: 'all', history: { size: 1000, ttl: '5m' } }] },
      });
      await using proxy = await startTcpProxy(herald.url);
      const client = testClient(proxy.wsUrl, { token: await herald.token({ sub: 'alice' }) });
      const offsets: number[] = [];
      const results: SubscribeResult[] = [];
      try {
        const feed = client.subscribe('feed');
        feed.on('tick', (_data, publication) => offsets.push(publication.offset));
        feed.onSubscribed((result) => results.push(result));
        await waitFor(() => results.length === 1, 'the first subscribe');
        const total = 150;
        const publishing = (async () => {
          for (let i = 1; i <= total; i++) {
            const { status } = await herald.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: { i } });
            assert.equal(status, 200);
            await sleep(2);
          }
        })();
        await waitFor(() => offsets.length >= 20, 'the first publications');
        proxy.refuse();
        proxy.cut();
        // The server keeps publishing while the link is down.
        const missedFrom = offsets.length;
        await waitFor(() => herald.server.node.sessions.size === 0, 'the server to see the cut');
        await sleep(150);
        proxy.accept();
        await publishing;
        await waitFor(() => offsets.at(-1) === total, `offset ${total}`, 10_000);
        assert.deepEqual(offsets, range(1, total));
        assert.equal(results.length, 2);
        const recovery = results[1].recovery!;
        assert.equal(recovery.recovered, true);
        assert.ok(recovery.replayed > 0, 'publications missed during the cut were replayed');
        assert.ok(missedFrom < total);
      } finally {
        client.close();
      }
    });

    it('resumes after a reload from the stored cursor, without repeating what was handled', async () => {
      await using herald = await startHerald();
      const storage = memoryStorage();
      const publish = (i: number) => herald.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: { i } });
      const token = await herald.token({ sub: 'alice' });
      const before = testClient(herald.wsUrl, { token, storage });
      const seenBefore: number[] = [];
      try {
        const feed = before.subscribe('feed');
        feed.onPublication((p) => seenBefore.push(p.offset));
        await new Promise((resolve) => feed.onSubscribed(resolve));
        for (const i of range(1, 3)) await publish(i);
        await waitFor(() => seenBefore.length === 3, 'three publications');
      } finally {
        before.close();
      }
      for (const i of range(4, 5)) await publish(i);
      // A new client with the same storage: the page after a reload.
      const after = testClient(herald.wsUrl, { token, storage });
      const seenAfter: number[] = [];
      try {
        const feed = after.subscribe('feed');
        feed.onPublication((p) => seenAfter.push(p.offset));
        const result = await new Promise<SubscribeResult>((resolve) => feed.onSubscribed(resolve));
        assert.deepEqual(result.recovery, { recovered: true, replayed: 2 });
        await publish(6);
        await waitFor(() => seenAfter.length >= 3, 'the replay and a live publication');
        assert.deepEqual(seenAfter, [4, 5, 6]);
      } finally {
        after.close();
      }
    });

    it('reports the missing range when history no longer holds what was missed', async () => {
      await using herald = await startHerald({
        channels: { rules: [{ pattern: '*', subscribe: 'all', publish: 'all', history: { size: 2, ttl: '5m' } }] },
      });
      await using proxy = await startTcpProxy(herald.url);
      const client = testClient(proxy.wsUrl, { token: await herald.token({ sub: 'alice' }) });
      const offsets: number[] = [];
      try {
        const feed = client.subscribe('feed');
        feed.onPublication((p) => offsets.push(p.offset));
        await new Promise((resolve) => feed.onSubscribed(resolve));
        await herald.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: 1 });
        await waitFor(() => offsets.length === 1, 'offset 1');
        proxy.refuse();
        proxy.cut();
        await waitFor(() => client.status === 'reconnecting', 'reconnecting');
        for (let i = 2; i <= 6; i++) await herald.api('POST', '/api/v1/publish', { channel: 'feed', event: 'tick', data: i });
        const gap = new Promise<any>((resolve) => client.once('gap', resolve));
        proxy.accept();
        const reported = await gap;
        assert.equal(reported.reason, 'history_trimmed');
        assert.deepEqual(reported.missing, { from: 2, to: 4 });
        await waitFor(() => offsets.length === 3, 'the replayable part');
        assert.deepEqual(offsets, [1, 5, 6]);
      } finally {
        client.close();
      }
    });
  });

  describe('#presence', () => {
    it('keeps a live presence list from the snapshot and join/leave frames', async () => {
      await using herald = await startHerald();
      const alice = testClient(herald.wsUrl, { token: await herald.token({ sub: 'alice', name: 'Alice' }) });
      const bob = testClient(herald.wsUrl, { token: await herald.token({ sub: 'bob', name: 'Bob' }) });
      try {
        const room = alice.subscribe('room', { presence: true });
        await waitFor(() => room.presence!.has('alice'), 'alice in her own snapshot');
        const bobRoom = bob.subscribe('room');
        await waitFor(() => room.presence!.has('bob'), 'bob joining');
        assert.deepEqual(room.presence!.list().map((u) => u.userId).sort(), ['alice', 'bob']);
        assert.deepEqual((await bob.presence('room')).map((u) => u.info?.name).sort(), ['Alice', 'Bob']);
        await bobRoom.unsubscribe();
        await waitFor(() => !room.presence!.has('bob'), 'bob leaving');
      } finally {
        alice.close();
        bob.close();
      }
    });
  });
});
