import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald } from '@herald/server/testing';
import { testClient } from '../support/herald-client.js';
import { waitFor } from '../support/wait.js';

const SIGNALS = {
  channels: { rules: [{ pattern: 'schedule:*', subscribe: 'all' as const, publish: 'all' as const, signals: { 'schedule:edit:start': 'schedule:edit:end' } }] },
};

describe('HeraldClient', () => {
  describe('#signal', () => {
    it('shows an editing indicator that the server ends when its sender disconnects', async () => {
      await using herald = await startHerald(SIGNALS);
      const editor = testClient(herald.url, { token: await herald.token({ sub: 'olga' }) });
      const viewer = testClient(herald.url, { token: await herald.token({ sub: 'ivan' }) });
      const seen: { event: string; data: any }[] = [];
      viewer.on('publication', (p) => seen.push({ event: p.event, data: p.data }));
      try {
        await Promise.all([editor.whenConnected(), viewer.whenConnected()]);
        viewer.subscribe('schedule:3');
        await waitFor(() => viewer.subscription('schedule:3')?.status === 'subscribed', 'the subscription');
        await editor.signal('schedule:3', 'schedule:edit:start', { cell: 'B2' });
        await waitFor(() => seen.length === 1, 'the start signal');
        editor.close();
        await waitFor(() => seen.length === 2, 'the end signal');
        assert.deepEqual(seen, [
          { event: 'schedule:edit:start', data: { cell: 'B2' } },
          { event: 'schedule:edit:end', data: { cell: 'B2', userId: 'olga', reason: 'disconnected' } },
        ]);
        await assert.rejects(editor.signal('schedule:3', 'schedule:edit:start', {}), /not connected/);
      } finally {
        editor.close();
        viewer.close();
      }
    });
  });
});
