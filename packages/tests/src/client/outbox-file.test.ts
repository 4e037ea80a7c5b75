import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileOutboxStore } from '@herald/client/node';
import { startHerald } from '@herald/server/testing';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { testClient } from '../support/herald-client.js';
import { waitFor } from '../support/wait.js';

describe('fileOutboxStore', () => {
  it('keeps queued publications in a JSON file across a client restart, then delivers them once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-outbox-'));
    const path = join(dir, 'nested', 'outbox.json');
    await using herald = await startHerald();
    await using proxy = await startTcpProxy(herald.url);
    proxy.refuse();
    const token = await herald.token({ sub: 'alice' });
    const before = testClient(proxy.wsUrl, { token, outbox: { store: fileOutboxStore(path) } });
    const reader = testClient(herald.wsUrl, { token: await herald.token({ sub: 'bob' }) });
    let after: ReturnType<typeof testClient> | undefined;
    try {
      void before.publish('chat', 'message', 'first');
      void before.publish('chat', 'message', 'second');
      const readItems = async () => JSON.parse(await readFile(path, 'utf8').catch(() => '[]')) as { key: string; data: unknown }[];
      const stored = await waitFor(async () => {
        const items = await readItems();
        return items.length === 2 && items;
      }, 'two items in the file');
      before.close();
      assert.deepEqual(stored.map((item) => item.data), ['first', 'second']);

      const seen: unknown[] = [];
      const sub = reader.subscribe('chat');
      sub.onPublication((p) => seen.push(p.data));
      await new Promise((resolve) => sub.onSubscribed(resolve));
      // The process comes back, network and all.
      after = testClient(herald.wsUrl, { token, outbox: { store: fileOutboxStore(path) } });
      const sent: string[] = [];
      after.on('outbox:sent', ({ item }) => sent.push(item.key));
      await waitFor(() => seen.length === 2, 'both deliveries');
      assert.deepEqual(seen, ['first', 'second']);
      await waitFor(async () => (await readItems()).length === 0, 'the file to empty');
      assert.deepEqual(sent, stored.map((item) => item.key), 'sent with the keys stored before the restart');
    } finally {
      before.close();
      after?.close();
      reader.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
