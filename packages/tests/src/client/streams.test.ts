import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald } from '@herald/server/testing';
import { testClient } from '../support/herald-client.js';
import { waitFor } from '../support/wait.js';

const STREAMS = { channels: { rules: [{ pattern: 'answer:*', subscribe: 'all' as const, cancel: { roles: ['author'] }, history: { size: 100, ttl: '5m' } }] } };

describe('HeraldClient', () => {
  describe('#cancel', () => {
    it("joins a stream mid-way with the text so far, cancels it where the rule allows, and is refused where it does not", async () => {
      await using herald = await startHerald(STREAMS);
      const opened = await herald.api('POST', '/api/v1/streams', { channel: 'answer:1', kind: 'tokens', cancelled: { type: 'iteration_cancelled' } });
      await herald.api('POST', `/api/v1/streams/${opened.body.id}/chunks`, { chunks: [{ type: 'token', content: 'Hel' }, { type: 'token', content: 'lo' }] });
      const author = testClient(herald.url, { token: await herald.token({ sub: 'ann', roles: ['author'] }) });
      const reader = testClient(herald.url, { token: await herald.token({ sub: 'rob' }) });
      const seen: unknown[] = [];
      try {
        await Promise.all([author.whenConnected(), reader.whenConnected()]);
        // The snapshot is the channel's current state: the subscription's handlers get it first.
        reader.subscribe('answer:1').onPublication((p) => seen.push(p.data));
        await waitFor(() => seen.length === 1, 'the snapshot');
        assert.deepEqual(seen, [{ type: 'token', content: 'Hello' }]);
        await assert.rejects(reader.cancel('answer:1'), (err: { code?: string }) => err.code === 'forbidden');
        assert.deepEqual(await author.cancel('answer:1'), { cancelled: [opened.body.id] });
        await waitFor(() => seen.length === 2, 'iteration_cancelled');
        assert.deepEqual(seen[1], { type: 'iteration_cancelled' });
      } finally {
        author.close();
        reader.close();
      }
    });
  });
});
