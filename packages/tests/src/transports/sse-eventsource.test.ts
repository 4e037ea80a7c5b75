import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald } from '@herald/server/testing';
import { EventSource } from 'eventsource';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const ROUTES = [{ path: '/api/v1/proposals/{id}/events', channel: 'proposal:{id}', format: 'data' as const }];

describe('SSE with the eventsource package', () => {
  for (const stream of [
    { name: 'an envelope stream', path: '/sse?channels=proposal:7', opened: 'connected' },
    { name: 'a data route', path: '/api/v1/proposals/7/events', opened: 'herald:cursor' },
  ]) {
    it(`resumes ${stream.name} cut before its first publication, missing nothing`, async () => {
      await using herald = await startHerald({ routes: ROUTES, presence: { userEvents: false } });
      await using proxy = await startTcpProxy(herald.url);
      const token = await herald.token({ sub: 'ann' });
      const source = new EventSource(`${proxy.url}${stream.path}${stream.path.includes('?') ? '&' : '?'}token=${token}`);
      const got: number[] = [];
      let opens = 0;
      source.addEventListener(stream.opened, () => (opens += 1));
      source.addEventListener('output', (e) => {
        const data = JSON.parse(e.data);
        got.push((data.data ?? data).n);
      });
      try {
        await waitFor(() => opens === 1, 'the stream to open');
        proxy.cut();
        for (const n of [1, 2]) assert.equal((await herald.api('POST', '/api/v1/publish', { channel: 'proposal:7', event: 'output', data: { n } })).status, 200);
        await waitFor(() => got.length === 2, 'what was published while away', 10_000);
        assert.deepEqual(got, [1, 2]);
        assert.equal(opens, 2);
      } finally {
        source.close();
      }
    });
  }
});
