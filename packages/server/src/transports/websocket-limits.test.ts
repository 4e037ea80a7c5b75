import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { startHerald } from '../testing/herald-fixture.js';
import { refusedStatus } from '../testing/upgrade-status.js';
import { waitFor, within } from '../testing/wait.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

/** Connects with the token in a connect frame instead of the URL. */
async function connectInBand(url: string, token: string): Promise<TestClient> {
  const client = new TestClient(url);
  await client.opened();
  client.send({ type: 'connect', token });
  return client;
}

describe('WebSocketTransport limits', () => {
  describe('connections per user', () => {
    it('closes the oldest connection with 4005 when a user opens one too many', async () => {
      await using herald = await startHerald({ limits: { connectionsPerUser: 2 } });
      const token = await herald.token({ sub: 'alice' });
      const first = await connectClient(herald.wsUrl, token);
      const second = await connectClient(herald.wsUrl, token);
      const third = await connectClient(herald.wsUrl, token);
      const { code, reason } = await within(first.closed);
      assert.equal(code, CloseCode.ConnectionReplaced);
      assert.match(reason, /oldest/);
      // The others, and other users, are untouched.
      const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
      for (const c of [second, third, bob]) assert.ok((await c.request({ type: 'subscribe', channel: 'x' })).result);
      await waitFor(() => herald.server.node.sessions.size === 3, 'three sessions', 3000);
      for (const c of [second, third, bob]) c.close();
    });

    it('allows 5 connections per user by default', async () => {
      await using herald = await startHerald();
      const token = await herald.token({ sub: 'alice' });
      const clients: TestClient[] = [];
      for (let i = 0; i < 6; i++) clients.push(await connectClient(herald.wsUrl, token));
      assert.equal((await within(clients[0].closed)).code, CloseCode.ConnectionReplaced);
      await waitFor(() => herald.server.node.sessions.size === 5, 'five sessions', 3000);
      for (const c of clients.slice(1)) c.close();
    });
  });

  describe('connections per tenant', () => {
    it('refuses the upgrade with HTTP 503 when the token is in the URL', async () => {
      await using herald = await startHerald({ limits: { connectionsPerTenant: 2 } });
      const a = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1', tenant: 'acme' }));
      const b = await connectClient(herald.wsUrl, await herald.token({ sub: 'u2', tenant: 'acme' }));
      const token = await herald.token({ sub: 'u3', tenant: 'acme' });
      assert.equal(await refusedStatus(`${herald.wsUrl}/ws?token=${token}`), 503);
      // Another tenant is not affected.
      const other = await connectClient(herald.wsUrl, await herald.token({ sub: 'u3', tenant: 'globex' }));
      // A freed slot is usable again.
      a.close();
      await waitFor(() => herald.server.node.connectionStats().byTenant.acme === 1);
      const c = await connectClient(herald.wsUrl, token);
      for (const client of [b, c, other]) client.close();
    });

    it('closes with 4008 when the token comes in band', async () => {
      await using herald = await startHerald({ limits: { connectionsPerTenant: 1 } });
      const a = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1', tenant: 'acme' }));
      const late = await connectInBand(`${herald.wsUrl}/ws`, await herald.token({ sub: 'u2', tenant: 'acme' }));
      const { code, reason } = await within(late.closed);
      assert.equal(code, CloseCode.TooManyConnections);
      assert.match(reason, /acme/);
      a.close();
    });
    it('takes back a client that names the connection it replaces, in a URL or a connect frame', async () => {
      await using herald = await startHerald({ limits: { connectionsPerTenant: 2 } });
      const annToken = await herald.token({ sub: 'ann', tenant: 'acme' });
      const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob', tenant: 'acme' }));
      // Ann's first connection, which the server would not yet know to be gone after a network cut.
      const first = await connectClient(herald.wsUrl, annToken);
      const firstId = first.frames.find((f) => f.type === 'connected').connectionId;
      assert.equal(await refusedStatus(`${herald.wsUrl}/ws?token=${annToken}`), 503);

      const second = new TestClient(`${herald.wsUrl}/ws?token=${annToken}&replaces=${firstId}`);
      await second.next((f) => f?.type === 'connected');
      assert.equal((await within(first.closed)).code, CloseCode.ConnectionReplaced);
      const secondId = second.frames.find((f) => f.type === 'connected').connectionId;

      // Without naming it, a connect frame finds the tenant full.
      const third = await connectInBand(`${herald.wsUrl}/ws`, annToken);
      assert.equal((await within(third.closed)).code, CloseCode.TooManyConnections);
      const fourth = new TestClient(`${herald.wsUrl}/ws`);
      await fourth.opened();
      fourth.send({ type: 'connect', token: annToken, replaces: secondId });
      await fourth.next((f) => f?.type === 'connected');
      assert.equal((await within(second.closed)).code, CloseCode.ConnectionReplaced);

      // Naming someone else's connection takes nothing from them.
      const carl = new TestClient(`${herald.wsUrl}/ws`);
      await carl.opened();
      carl.send({ type: 'connect', token: await herald.token({ sub: 'carl', tenant: 'acme' }), replaces: bob.frames.find((f) => f.type === 'connected').connectionId });
      assert.equal((await within(carl.closed)).code, CloseCode.TooManyConnections);
      assert.ok((await bob.request({ type: 'subscribe', channel: 'x' })).result);
      await waitFor(() => herald.server.node.sessions.size === 2, 'two sessions', 3000);
      for (const c of [bob, fourth]) c.close();
    });
  });

  describe('subscriptions', () => {
    it('answers limit_exceeded past limits.subscriptionsPerConnection', async () => {
      await using herald = await startHerald({ limits: { subscriptionsPerConnection: 2 } });
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      assert.ok((await client.request({ type: 'subscribe', channel: 'a' })).result);
      assert.ok((await client.request({ type: 'subscribe', channel: 'b' })).result);
      const third = await client.request({ type: 'subscribe', channel: 'c' });
      assert.equal(third.error.code, ErrorCode.LimitExceeded);
      // Unsubscribing frees a slot.
      assert.deepEqual((await client.request({ type: 'unsubscribe', channel: 'a' })).result, {});
      assert.ok((await client.request({ type: 'subscribe', channel: 'c' })).result);
      client.close();
    });

    it('answers limit_exceeded past a channel rule maxSubscribers, across users', async () => {
      await using herald = await startHerald({ channels: { rules: [{ pattern: 'vip', maxSubscribers: 2 }] } });
      const clients = await Promise.all(['u1', 'u2', 'u3'].map(async (sub) => connectClient(herald.wsUrl, await herald.token({ sub }))));
      assert.ok((await clients[0].request({ type: 'subscribe', channel: 'vip' })).result);
      assert.ok((await clients[1].request({ type: 'subscribe', channel: 'vip' })).result);
      const full = await clients[2].request({ type: 'subscribe', channel: 'vip' });
      assert.equal(full.error.code, ErrorCode.LimitExceeded);
      assert.match(full.error.message, /vip/);
      clients[0].close();
      await waitFor(async () => (await clients[2].request({ type: 'subscribe', channel: 'vip' })).result, 'a free slot', 3000);
      for (const c of clients.slice(1)) c.close();
    });

    it('answers already_subscribed and not_subscribed', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }));
      await client.request({ type: 'subscribe', channel: 'a' });
      assert.equal((await client.request({ type: 'subscribe', channel: 'a' })).error.code, ErrorCode.AlreadySubscribed);
      assert.equal((await client.request({ type: 'unsubscribe', channel: 'b' })).error.code, ErrorCode.NotSubscribed);
      client.close();
    });
  });

  describe('routes', () => {
    const ROUTES = { routes: [{ path: '/ws/projects/{project_id}', channel: 'project:{project_id}', maxConnections: 2 }] };

    it("refuses the upgrade with HTTP 503 past a route's maxConnections for one channel", async () => {
      await using herald = await startHerald(ROUTES);
      const token = await herald.token({ sub: 'u1' });
      const a = await connectClient(herald.wsUrl, token, '/ws/projects/7');
      const b = await connectClient(herald.wsUrl, await herald.token({ sub: 'u2' }), '/ws/projects/7');
      assert.equal(await refusedStatus(`${herald.wsUrl}/ws/projects/7?token=${token}`), 503);
      // Another project of the same route has its own allowance.
      const c = await connectClient(herald.wsUrl, token, '/ws/projects/8');
      for (const client of [a, b, c]) client.close();
    });

    it("closes with 4008 past a route's maxConnections when the token comes in band", async () => {
      await using herald = await startHerald(ROUTES);
      const a = await connectClient(herald.wsUrl, await herald.token({ sub: 'u1' }), '/ws/projects/7');
      const b = await connectClient(herald.wsUrl, await herald.token({ sub: 'u2' }), '/ws/projects/7');
      const late = await connectInBand(`${herald.wsUrl}/ws/projects/7`, await herald.token({ sub: 'u3' }));
      const { code, reason } = await within(late.closed);
      assert.equal(code, CloseCode.TooManyConnections);
      assert.match(reason, /project:7/);
      a.close();
      b.close();
    });
  });

  describe('Origin allowlist', () => {
    it('refuses a foreign Origin with HTTP 403 and accepts a listed one or none', async () => {
      await using herald = await startHerald({ server: { corsOrigins: ['https://app.example'] } });
      const token = await herald.token({ sub: 'u1' });
      const url = `${herald.wsUrl}/ws?token=${token}`;
      assert.equal(await refusedStatus(url, { origin: 'https://evil.example' }), 403);
      assert.equal(await refusedStatus(url, { origin: 'null' }), 403);
      const listed = new TestClient(url, { origin: 'https://app.example' });
      await listed.next((f) => f.type === 'connected');
      // Non-browser clients send no Origin.
      const headless = await connectClient(herald.wsUrl, token);
      listed.close();
      headless.close();
    });
  });
});
