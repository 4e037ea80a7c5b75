import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exponentialBackoff } from '@herald/client';
import { CloseCode } from '@herald/protocol';
import { startHerald } from '@herald/server/testing';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { recordStatuses, testClient } from '../support/herald-client.js';
import { sleep, waitFor } from '../support/wait.js';

describe('HeraldClient', () => {
  describe('#status', () => {
    it('goes connecting → connected → reconnecting → connected across a network cut', async () => {
      await using herald = await startHerald();
      await using proxy = await startTcpProxy(herald.url);
      const client = testClient(proxy.wsUrl, { token: await herald.token({ sub: 'alice' }) });
      const record = recordStatuses(client);
      try {
        const first = await client.whenConnected();
        proxy.refuse();
        proxy.cut();
        await waitFor(() => client.status === 'reconnecting' && client.state.attempt >= 2, 'a refused reconnect attempt');
        proxy.accept();
        const second = await client.whenConnected();
        assert.deepEqual(record.statuses, ['connecting', 'connected', 'reconnecting', 'connected']);
        assert.notEqual(second.connectionId, first.connectionId);
        const drop = record.states.find((s) => s.status === 'reconnecting');
        assert.equal(drop?.code, 1006);
        assert.ok(record.states.some((s) => s.status === 'reconnecting' && s.retryAt !== undefined), 'reports when the next attempt is');
      } finally {
        client.close();
      }
      assert.equal(client.status, 'offline');
    });

    it('gives up as failed after the attempt cap', async () => {
      await using herald = await startHerald();
      await using proxy = await startTcpProxy(herald.url);
      const client = testClient(proxy.wsUrl, { token: await herald.token({ sub: 'alice' }), backoff: exponentialBackoff({ initial: 20, max: 40, maxAttempts: 3, jitter: 0 }) });
      try {
        await client.whenConnected();
        proxy.refuse();
        proxy.cut();
        const failed = await waitFor(() => client.status === 'failed' && client.state, 'status failed');
        assert.equal(failed.attempt, 3);
        assert.match(failed.reason ?? '', /gave up after 3 attempts/);
        proxy.accept();
        client.connect();
        await client.whenConnected();
      } finally {
        client.close();
      }
    });

    it('fails at once on a terminal close code (bad token)', async () => {
      await using herald = await startHerald();
      const client = testClient(herald.wsUrl, { token: 'not-a-token' });
      try {
        await assert.rejects(client.whenConnected());
        assert.equal(client.status, 'failed');
        assert.equal(client.state.code, CloseCode.Unauthorized);
      } finally {
        client.close();
      }
    });
  });

  describe('#watchdog', () => {
    it('declares a silent link dead after two missed pings and reconnects', async () => {
      await using herald = await startHerald({ heartbeat: { interval: 200, timeout: 5000 } });
      await using proxy = await startTcpProxy(herald.url);
      const client = testClient(proxy.wsUrl, { token: await herald.token({ sub: 'alice' }) });
      try {
        const first = await client.whenConnected();
        // Outlive a few healthy intervals first: pings keep the link up.
        await sleep(700);
        assert.equal(client.connection?.connectionId, first.connectionId);
        proxy.stall();
        const drop = await waitFor(() => client.state.status === 'reconnecting' && client.state, 'the watchdog to drop the link');
        assert.equal(drop.code, undefined, 'no close reached the client: the watchdog noticed');
        assert.match(drop.reason ?? '', /no ping from the server/);
        const second = await client.whenConnected();
        assert.notEqual(second.connectionId, first.connectionId);
      } finally {
        client.close();
      }
    });
  });

  describe('#token', () => {
    it('refreshes an expiring token in band, keeping the connection', async () => {
      await using herald = await startHerald({ auth: { jwt: { clockTolerance: 0 } } });
      let issued = 0;
      const refreshing = testClient(herald.wsUrl, {
        token: () => {
          issued += 1;
          return herald.token({ sub: 'alice' }, 2);
        },
      });
      // The same short token without a provider: the server ends the connection when it expires.
      const fixed = testClient(herald.wsUrl, { token: await herald.token({ sub: 'bob' }, 2) });
      const refreshes: number[] = [];
      refreshing.on('token:refreshed', (r) => refreshes.push(r.expiresAt ?? 0));
      const statuses = recordStatuses(refreshing);
      try {
        const info = await refreshing.whenConnected();
        await fixed.whenConnected();
        await waitFor(() => fixed.status === 'failed' && fixed.state, 'the fixed-token client to be closed', 8000);
        // Past the first token's expiry and the server's next expiry sweep (every second).
        const firstExpiry = info.expiresAt!;
        await waitFor(() => Date.now() > firstExpiry + 1200, 'the first token to be long expired', 8000);
        assert.ok(refreshes.length >= 1 && issued >= 2, `refreshed ${refreshes.length} times`);
        assert.equal(refreshing.status, 'connected');
        assert.equal(refreshing.connection?.connectionId, info.connectionId);
        assert.deepEqual(statuses.statuses, ['connecting', 'connected']);
        assert.ok(herald.server.node.sessions.has(info.connectionId), 'the server still holds the first session');
        // After 4002 the fixed token is tried again and refused as expired (4001): nothing more to do.
        assert.equal(fixed.state.code, CloseCode.Unauthorized);
      } finally {
        refreshing.close();
        fixed.close();
      }
    });
  });

  describe('#restart', () => {
    it('reports a gap when the server comes back with a new epoch, then delivers the new stream', async () => {
      const first = await startHerald();
      const port = Number(new URL(first.url).port);
      const client = testClient(first.wsUrl, { token: await first.token({ sub: 'alice' }) });
      const received: string[] = [];
      const gaps: any[] = [];
      try {
        const news = client.subscribe('news');
        news.onPublication((p) => received.push(`${p.epoch}:${p.offset}`));
        news.onGap((gap) => gaps.push(gap));
        await new Promise<void>((resolve) => news.onSubscribed(() => resolve()));
        for (let i = 0; i < 3; i++) await first.api('POST', '/api/v1/publish', { channel: 'news', event: 'n', data: i });
        await waitFor(() => received.length === 3, 'three publications');
        const oldEpoch = news.position!.epoch;
        await first.close();
        await waitFor(() => client.status === 'reconnecting', 'reconnecting');
        assert.equal(client.state.code, CloseCode.ServiceRestart);
        await using second = await startHerald({ server: { port } });
        await client.whenConnected();
        const gap = await waitFor(() => gaps[0], 'a gap event');
        assert.equal(gap.reason, 'epoch_changed');
        assert.deepEqual(gap.previous, { epoch: oldEpoch, offset: 3, lastId: gap.previous.lastId });
        assert.notEqual(gap.epoch, oldEpoch);
        await second.api('POST', '/api/v1/publish', { channel: 'news', event: 'n', data: 'after' });
        await waitFor(() => received.length === 4, 'the first publication of the new epoch');
        assert.equal(received[3], `${gap.epoch}:1`);
      } finally {
        client.close();
        await first.close();
      }
    });
  });
});
