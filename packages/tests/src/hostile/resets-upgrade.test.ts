import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connectClient, startHerald, waitFor, type HeraldFixture, type TestClient } from '@herald/server/testing';
import { RawSocket, parseResponse } from './support/raw-socket.js';
import { resetRepeatedly, sendThenReset } from './support/resets.js';
import { assertStillServes } from './support/still-serves.js';
import { forgedSecretTokens, rsaKeys } from './support/tokens.js';
import { clientFrame, Opcode, upgradeRequest } from './support/ws-wire.js';

/** Resets per stage and timing: 5 × 4 timings × 16 stages, about 320 connections. */
const ROUNDS = 5;

/** Sends a handshake and waits for the 101, so what follows happens on an open WebSocket. */
async function upgraded(raw: RawSocket, path: string): Promise<void> {
  raw.write(upgradeRequest(path));
  const head = await raw.until((r) => parseResponse(r.text), 3000, 'the 101');
  assert.equal(head.status, 101, head.body);
}

/** The first bytes of a masked text frame: the header and part of the payload, never the end. */
const halfFrame = () => clientFrame({ opcode: Opcode.Text, payload: '{"type":"subscribe","channel":"x"}' }).subarray(0, 9);

describe('TCP resets during upgrades', () => {
  let herald: HeraldFixture;
  const holders: TestClient[] = [];
  const tokens: Record<string, string> = {};
  let fresh = 0;
  /** A valid token in a tenant of its own, so the tenant limit does not refuse it first. */
  const freshToken = () => tokens[`t${fresh++ % 8}`];

  before(async () => {
    herald = await startHerald({
      server: { corsOrigins: ['https://allowed.example'] },
      limits: { connectionsPerTenant: 1 },
      routes: [{ path: '/ws/projects/{id}', channel: 'project:{id}', maxConnections: 1 }],
    });
    for (let i = 0; i < 8; i++) tokens[`t${i}`] = await herald.token({ sub: `u${i}`, tenant: `t${i}` });
    tokens.full = await herald.token({ sub: 'late', tenant: 'full' });
    tokens.route = await herald.token({ sub: 'late', tenant: 'route' });
    // One connection fills tenant `full`; another fills the route's channel project:1.
    holders.push(await connectClient(herald.wsUrl, await herald.token({ sub: 'holder', tenant: 'full' })));
    holders.push(await connectClient(herald.wsUrl, await herald.token({ sub: 'holder', tenant: 'route-holder' }), '/ws/projects/1'));
  });
  after(async () => {
    for (const holder of holders) holder.close();
    await herald.close();
  });

  const forged = forgedSecretTokens().find((t) => t.name === 'a wrong signature')!.token;
  const stages: [string, (raw: RawSocket) => void | Promise<void>][] = [
    ['an upgrade to an unknown path (404)', (raw) => raw.write(upgradeRequest('/nope'))],
    ['an upgrade from a refused Origin (403)', (raw) => raw.write(upgradeRequest('/ws', { Origin: 'https://evil.example' }))],
    ['an upgrade into a full tenant (503)', (raw) => raw.write(upgradeRequest(`/ws?token=${tokens.full}`))],
    ['an upgrade into a full route (503)', (raw) => raw.write(upgradeRequest(`/ws/projects/1?token=${tokens.route}`))],
    ['an upgrade waiting on a valid token', (raw) => raw.write(upgradeRequest(`/ws?token=${freshToken()}`))],
    ['an upgrade waiting on a forged token', (raw) => raw.write(upgradeRequest(`/ws?token=${forged}`))],
    ['a route upgrade waiting on its token and route check', (raw) => raw.write(upgradeRequest(`/ws/projects/${2 + (fresh % 50)}?token=${freshToken()}`))],
    ['an upgrade ws refuses (bad version)', (raw) => raw.write(upgradeRequest('/ws').replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'))],
    ['an upgrade to another protocol', (raw) => raw.write(upgradeRequest('/ws').replace('Upgrade: websocket', 'Upgrade: h2c'))],
    ['an open WebSocket, mid-frame', async (raw) => (await upgraded(raw, '/ws'), raw.write(halfFrame()))],
    ['an authenticated WebSocket, mid-frame', async (raw) => (await upgraded(raw, `/ws?token=${freshToken()}`), raw.write(halfFrame()))],
    ['a Socket.IO upgrade', (raw) => raw.write(upgradeRequest('/socket.io/?EIO=4&transport=websocket'))],
    ['a Socket.IO upgrade for an unknown transport', (raw) => raw.write(upgradeRequest('/socket.io/?EIO=4&transport=bogus'))],
    ['a Socket.IO upgrade for an unknown sid', (raw) => raw.write(upgradeRequest('/socket.io/?EIO=4&transport=websocket&sid=nope'))],
    ['a Socket.IO upgrade from a refused Origin', (raw) => raw.write(upgradeRequest('/socket.io/?EIO=4&transport=websocket', { Origin: 'https://evil.example' }))],
    ['a Socket.IO WebSocket, mid-frame', async (raw) => (await upgraded(raw, '/socket.io/?EIO=4&transport=websocket'), raw.write(halfFrame()))],
  ];

  for (const [stage, send] of stages) {
    it(`survives resets during ${stage}`, async () => {
      const resets = await resetRepeatedly(ROUNDS, (timing) => sendThenReset(herald.url, send, timing));
      assert.equal(resets, ROUNDS * 4);
      await assertStillServes(herald);
    });
  }

  it('keeps only the holders’ sessions, and still serves', async () => {
    await waitFor(() => herald.server.node.sessions.size === holders.length, 'only the holders connected', 5000);
    await assertStillServes(herald);
  });
});

/** A JWKS endpoint that holds every answer until released: token checks stay pending as long as a test needs. */
class HeldJwks {
  requests = 0;
  private held: (() => void)[] = [];
  private released = false;
  private constructor(private readonly server: Server) {}

  static async start(jwk: object): Promise<HeldJwks> {
    const server = createServer();
    const jwks = new HeldJwks(server);
    server.on('request', (_req, res) => {
      jwks.requests++;
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      if (jwks.released) answer();
      else jwks.held.push(answer);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return jwks;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }

  release(): void {
    this.released = true;
    for (const answer of this.held.splice(0)) answer();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('TCP resets while token verification is pending', () => {
  it('survives resets of upgrades whose tokens wait on a JWKS fetch, then verifies on', async () => {
    const keys = rsaKeys();
    const jwks = await HeldJwks.start(keys.jwk);
    await using herald = await startHerald({
      auth: { jwt: { secret: undefined, jwksUrl: jwks.url } },
      routes: [{ path: '/ws/projects/{id}', channel: 'project:{id}' }],
      limits: { connectionsPerTenant: 2 },
    });
    // The server's own view of the upgrading sockets, to know they all arrived and were reset.
    const serverSockets: Socket[] = [];
    herald.server.http.server.on('upgrade', (_req, socket: Socket) => serverSockets.push(socket));
    const paths = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0 ? `/ws?token=${keys.foreign(`u${i}`)}` : i % 4 === 1 ? `/ws/projects/${i}?token=${keys.valid(`u${i}`)}` : i % 4 === 2 ? `/ws?token=${keys.confused(`u${i}`)}` : `/ws?token=${keys.valid(`u${i}`)}`,
    );
    const clients = await Promise.all(paths.map(() => RawSocket.open(herald.url)));
    clients.forEach((raw, i) => raw.write(upgradeRequest(paths[i])));
    try {
      await waitFor(() => jwks.requests > 0 && serverSockets.length === paths.length, 'every upgrade waiting on the JWKS', 5000);
      for (const raw of clients) raw.reset();
      await waitFor(() => serverSockets.every((s) => s.destroyed), 'the server to see every reset', 5000);
      // Verification now completes for sockets that are gone; route and tenant checks follow.
      jwks.release();
      await assertStillServes(herald, { token: (sub, tenant) => keys.valid(sub, { tenant }) });
      // Only the probe ever had a session: none was opened for a reset socket.
      const connects = (await herald.server.metrics.connectsTotal.get()).values.reduce((n, v) => n + v.value, 0);
      assert.equal(connects, 1);
      await waitFor(() => herald.server.node.sessions.size === 0, 'no sessions left', 3000);
    } finally {
      jwks.release();
      await jwks.close();
    }
  });
});
