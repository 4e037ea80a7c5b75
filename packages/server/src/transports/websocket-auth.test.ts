import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { SignJWT } from 'jose';
import { startHerald, TEST_SECRET } from '../testing/herald-fixture.js';
import { within } from '../testing/wait.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const hmac = (secret: string) => new TextEncoder().encode(secret);

/** Opens a socket at `path` and resolves with how the server closed it. */
async function closeOf(wsUrl: string, path: string, options: ConstructorParameters<typeof TestClient>[1] = {}) {
  const client = new TestClient(`${wsUrl}${path}`, options);
  return within(client.closed);
}

describe('WebSocketTransport authentication', () => {
  describe('token with the upgrade', () => {
    it('accepts a token in the query and says who connected', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'alice', tenant: 'acme', roles: ['operator'] }));
      const connected = client.frames[0];
      assert.equal(connected.type, 'connected');
      assert.equal(connected.userId, 'alice');
      assert.equal(connected.tenant, 'acme');
      assert.deepEqual(connected.roles, ['operator']);
      assert.equal(typeof connected.connectionId, 'string');
      assert.ok(connected.expiresAt > Date.now());
      assert.deepEqual(connected.heartbeat, { interval: 30_000, timeout: 10_000 });
      assert.deepEqual(connected.subscriptions, []);
      client.close();
    });

    it('accepts Authorization: Bearer', async () => {
      await using herald = await startHerald();
      const client = new TestClient(`${herald.wsUrl}/ws`, { headers: { authorization: `Bearer ${await herald.token({ sub: 'bob' })}` } });
      const connected = await client.next((f) => f.type === 'connected');
      assert.equal(connected.userId, 'bob');
      client.close();
    });

    for (const [name, token] of [
      ['a malformed token', 'not-a-jwt'],
      ['an empty token', ''],
    ] as const) {
      it(`closes with 4001 for ${name}`, async () => {
        await using herald = await startHerald();
        const { code, reason } = await closeOf(herald.wsUrl, `/ws?token=${token}`);
        assert.equal(code, CloseCode.Unauthorized);
        assert.match(reason, /token/);
      });
    }

    it('closes with 4001 for a token signed with another secret', async () => {
      await using herald = await startHerald();
      const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(hmac('wrong-secret-0123456789'));
      const { code, reason } = await closeOf(herald.wsUrl, `/ws?token=${token}`);
      assert.equal(code, CloseCode.Unauthorized);
      assert.match(reason, /signature/);
    });

    it('closes with 4001 for an expired token, saying so', async () => {
      await using herald = await startHerald();
      const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(hmac(TEST_SECRET));
      const { code, reason } = await closeOf(herald.wsUrl, '/ws', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(code, CloseCode.Unauthorized);
      assert.match(reason, /expired/);
    });

    it('closes with 4001 for alg: none', async () => {
      await using herald = await startHerald();
      const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
      const { code } = await closeOf(herald.wsUrl, `/ws?token=${token}`);
      assert.equal(code, CloseCode.Unauthorized);
    });

    it('closes with 4001 for an HS256 token signed with the configured RSA public key', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      await using herald = await startHerald({ auth: { jwt: { secret: undefined, publicKey: pem } } });
      const forged = await new SignJWT({ sub: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(hmac(pem));
      const { code, reason } = await closeOf(herald.wsUrl, `/ws?token=${forged}`);
      assert.equal(code, CloseCode.Unauthorized);
      assert.match(reason, /algorithm/);
      // The real key pair still works.
      const genuine = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(privateKey);
      const client = await connectClient(herald.wsUrl, genuine);
      client.close();
    });

    it('closes with 4001 for a wrong issuer or audience when they are configured', async () => {
      await using herald = await startHerald({ auth: { jwt: { issuer: 'https://id.example', audience: 'herald' } } });
      const sign = (iss: string, aud: string) =>
        new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(iss).setAudience(aud).setExpirationTime('1h').sign(hmac(TEST_SECRET));
      const badIss = await closeOf(herald.wsUrl, `/ws?token=${await sign('https://evil.example', 'herald')}`);
      assert.equal(badIss.code, CloseCode.Unauthorized);
      assert.match(badIss.reason, /iss/);
      const badAud = await closeOf(herald.wsUrl, `/ws?token=${await sign('https://id.example', 'other')}`);
      assert.equal(badAud.code, CloseCode.Unauthorized);
      assert.match(badAud.reason, /aud/);
      const client = await connectClient(herald.wsUrl, await sign('https://id.example', 'herald'));
      client.close();
    });
  });

  describe('token in the first frame', () => {
    for (const type of ['connect', 'authenticate', 'hello']) {
      it(`accepts a ${type} frame and echoes its id`, async () => {
        await using herald = await startHerald();
        const client = new TestClient(`${herald.wsUrl}/ws`);
        await client.opened();
        client.send({ type, id: 7, token: await herald.token({ sub: 'carol' }) });
        const connected = await client.next((f) => f.type === 'connected');
        assert.equal(connected.id, 7);
        assert.equal(connected.userId, 'carol');
        client.close();
      });
    }

    it('closes with 4001 for an invalid token in the frame', async () => {
      await using herald = await startHerald();
      const client = new TestClient(`${herald.wsUrl}/ws`);
      await client.opened();
      client.send({ type: 'connect', token: 'garbage' });
      const { code, reason } = await within(client.closed);
      assert.equal(code, CloseCode.Unauthorized);
      assert.match(reason, /token/);
    });

    it('closes with 4001 for a connect frame without a token', async () => {
      await using herald = await startHerald();
      const client = new TestClient(`${herald.wsUrl}/ws`);
      await client.opened();
      client.send({ type: 'connect', id: 1 });
      const { code, reason } = await within(client.closed);
      assert.equal(code, CloseCode.Unauthorized);
      assert.match(reason, /token/);
    });

    it('closes with 4004 when no connect frame arrives within auth.connectTimeout', async () => {
      await using herald = await startHerald({ auth: { connectTimeout: 150 } });
      const client = new TestClient(`${herald.wsUrl}/ws`);
      await client.opened();
      const { code, reason } = await within(client.closed);
      assert.equal(code, CloseCode.AuthTimeout);
      assert.match(reason, /connect/);
    });

    it('closes with 4001 when another frame comes before connect', async () => {
      await using herald = await startHerald();
      const client = new TestClient(`${herald.wsUrl}/ws`);
      await client.opened();
      client.send({ type: 'subscribe', id: 1, channel: 'news' });
      const { code, reason } = await within(client.closed);
      assert.equal(code, CloseCode.Unauthorized);
      assert.match(reason, /connect/);
      assert.equal(client.frames.filter((f) => f.type === 'reply').length, 0);
    });

    it('answers an app ping before connect', async () => {
      await using herald = await startHerald();
      const client = new TestClient(`${herald.wsUrl}/ws`);
      await client.opened();
      client.send({ type: 'ping', id: 3 });
      assert.deepEqual(await client.next((f) => f.type === 'pong'), { type: 'pong', id: 3 });
      client.close();
    });

    it('handles frames sent right after connect once the connection is authenticated, in order', async () => {
      await using herald = await startHerald();
      const client = new TestClient(`${herald.wsUrl}/ws`);
      await client.opened();
      client.send({ type: 'connect', id: 1, token: await herald.token({ sub: 'dave' }) });
      client.send({ type: 'subscribe', id: 2, channel: 'news' });
      client.send({ type: 'publish', id: 3, channel: 'news', event: 'said', data: 'hi' });
      const pub = await client.next((f) => f.type === 'pub' && f.channel === 'news');
      assert.equal(pub.data, 'hi');
      // `user:online` on $tenant may come between; it is not part of this exchange.
      const frames = client.frames.filter((f) => f.channel !== '$tenant');
      const types = frames.map((f) => (f.type === 'reply' ? `reply:${f.id}` : f.type));
      // The publication may reach the subscriber before the publisher's reply; both follow the subscribe.
      assert.equal(types[0], 'connected');
      assert.equal(types[1], 'reply:2');
      assert.deepEqual(types.slice(2, 4).sort(), ['pub', 'reply:3']);
      assert.ok(frames.filter((f) => f.type === 'reply').every((f) => !('error' in f)));
      client.close();
    });

    it('refuses a second connect on an authenticated connection', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'erin' }));
      const reply = await client.request({ type: 'connect', token: await herald.token({ sub: 'mallory' }) });
      assert.equal(reply.error.code, ErrorCode.BadRequest);
      assert.match(reply.error.message, /already connected/);
      client.close();
    });
  });

  describe('token expiry and refresh', () => {
    it('closes with 4002 at expiry, and a refreshed connection outlives the old expiry', async () => {
      await using herald = await startHerald({ auth: { jwt: { clockTolerance: 0 } } });
      // Both tokens end at the same second; one connection refreshes.
      const shortLived = await herald.token({ sub: 'frank' }, 2);
      const expiring = await connectClient(herald.wsUrl, shortLived);
      const refreshing = await connectClient(herald.wsUrl, shortLived);
      const reply = await refreshing.request({ type: 'refresh', token: await herald.token({ sub: 'frank' }, 3600) });
      assert.ok(reply.result.expiresAt > Date.now() + 3_000_000);
      const { code, reason } = await within(expiring.closed, 4000);
      assert.equal(code, CloseCode.TokenExpired);
      assert.match(reason, /expired/);
      // The refreshing connection was checked by the same sweep and kept.
      refreshing.send({ type: 'ping', id: 99 });
      await refreshing.next((f) => f.type === 'pong' && f.id === 99);
      assert.equal(refreshing.ws.readyState, refreshing.ws.OPEN);
      refreshing.close();
    });

    it('refuses a refresh with a token for another user and keeps the connection', async () => {
      await using herald = await startHerald();
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'gina' }));
      const reply = await client.request({ type: 'refresh', token: await herald.token({ sub: 'mallory' }) });
      assert.equal(reply.error.code, ErrorCode.Unauthorized);
      assert.match(reply.error.message, /same user/);
      const otherTenant = await client.request({ type: 'refresh', token: await herald.token({ sub: 'gina', tenant: 'elsewhere' }) });
      assert.equal(otherTenant.error.code, ErrorCode.Unauthorized);
      const invalid = await client.request({ type: 'refresh', token: 'garbage' });
      assert.equal(invalid.error.code, ErrorCode.Unauthorized);
      const reply2 = await client.request({ type: 'subscribe', channel: 'still-here' });
      assert.equal(reply2.result.channel, 'still-here');
      client.close();
    });
  });
});
