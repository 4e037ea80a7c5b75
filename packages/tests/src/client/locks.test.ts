import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald } from '@herald/server/testing';
import { testClient } from '../support/herald-client.js';
import { waitFor } from '../support/wait.js';

const LOCKS = { channels: { rules: [{ pattern: 'task:*', subscribe: 'all' as const, locks: { ttl: '2m' } }] } };

describe('HeraldClient', () => {
  describe('#lock', () => {
    it('takes a soft lock, shows the holder to others, and frees it when the holder goes away', async () => {
      await using herald = await startHerald(LOCKS);
      const anna = testClient(herald.url, { token: await herald.token({ sub: 'anna' }) });
      const boris = testClient(herald.url, { token: await herald.token({ sub: 'boris' }) });
      const seen: { name: string; holder: string | null; reason?: string }[] = [];
      boris.on('lock', (change) => seen.push(change));
      try {
        await Promise.all([anna.whenConnected(), boris.whenConnected()]);
        boris.subscribe('task:17');
        await waitFor(() => boris.subscription('task:17')?.status === 'subscribed', 'the subscription');
        const taken = await anna.lock('task:17', 'editing');
        assert.equal(taken.acquired, true);
        const refused = await boris.lock('task:17', 'editing');
        assert.deepEqual([refused.acquired, refused.holder.userId], [false, 'anna']);
        await waitFor(() => seen.length === 1, 'the lock:acquired event');
        assert.deepEqual(seen[0], { channel: 'task:17', name: 'editing', holder: 'anna' });
        anna.close();
        await waitFor(() => seen.length === 2, 'the lock:released event');
        assert.deepEqual(seen[1], { channel: 'task:17', name: 'editing', holder: null, reason: 'disconnected' });
        assert.equal((await boris.lock('task:17', 'editing')).acquired, true);
        assert.equal((await boris.unlock('task:17', 'editing')).released, true);
      } finally {
        anna.close();
        boris.close();
      }
    });
  });
});
