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

    it('shows a viewer who subscribes later the editing already going on, with who is editing, and not once it ended', async () => {
      await using herald = await startHerald(SIGNALS);
      const editor = testClient(herald.url, { token: await herald.token({ sub: 'olga', name: 'Olga' }) });
      const late = testClient(herald.url, { token: await herald.token({ sub: 'ivan' }) });
      const later = testClient(herald.url, { token: await herald.token({ sub: 'petr' }) });
      try {
        await editor.whenConnected();
        await editor.signal('schedule:3', 'schedule:edit:start', { cell: 'B2' });
        const seen: { event: string; publisher: unknown }[] = [];
        late.subscribe('schedule:3').on('schedule:edit:start', (_data, p) => seen.push({ event: p.event, publisher: p.publisher }));
        await waitFor(() => seen.length === 1, 'the editing already going on');
        assert.deepEqual(seen, [{ event: 'schedule:edit:start', publisher: { userId: 'olga', info: { name: 'Olga' } } }]);

        await editor.signal('schedule:3', 'schedule:edit:end', { cell: 'B2' });
        const laterSeen: string[] = [];
        later.on('publication', (p) => laterSeen.push(p.event));
        later.subscribe('schedule:3');
        await waitFor(() => later.subscription('schedule:3')?.status === 'subscribed', 'the later subscription');
        await herald.api('POST', '/api/v1/publish', { channel: 'schedule:3', event: 'marker' });
        await waitFor(() => laterSeen.includes('marker'), 'the marker');
        assert.deepEqual(laterSeen, ['marker'], 'an ended signal is not shown');
      } finally {
        for (const c of [editor, late, later]) c.close();
      }
    });
  });
});
