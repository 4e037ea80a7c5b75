import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { parseConfig } from '../config/load.js';
import type { HeraldConfigInput } from '../config/schema.js';
import { createAuthenticator, signToken } from './authenticator.js';
import { AuthError } from './identity.js';

const SECRET = 'unit-test-secret-0123456789';
const hmac = new TextEncoder().encode(SECRET);

function authenticatorFor(config: HeraldConfigInput = {}) {
  return createAuthenticator(parseConfig({ auth: { jwt: { secret: SECRET } }, ...config }));
}

function hs256(payload: Record<string, unknown>, key: Uint8Array = hmac, ttl: string | number = '1h') {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(ttl).sign(key);
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Rejects with an AuthError of this failure kind whose message matches. */
async function rejectsWith(promise: Promise<unknown>, failure: AuthError['failure'], message: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
    assert.equal(err.failure, failure);
    assert.match(err.message, message);
    return true;
  });
}

describe('Authenticator', () => {
  describe('#verify with a shared secret', () => {
    const auth = authenticatorFor({ auth: { jwt: { secret: SECRET }, claims: { info: ['name', 'profile.avatar'] } } });

    it('maps the claims of a valid HS256 token to an identity', async () => {
      const token = await hs256({ sub: 'alice', tenant: 'acme', roles: ['operator', 'admin'], name: 'Alice', profile: { avatar: 'a.png' }, channels: ['order:1'] });
      const identity = await auth.verify(token);
      assert.equal(identity.userId, 'alice');
      assert.equal(identity.tenant, 'acme');
      assert.deepEqual(identity.roles, ['operator', 'admin']);
      assert.deepEqual(identity.info, { name: 'Alice', avatar: 'a.png' });
      assert.deepEqual(identity.channels, ['order:1']);
      assert.ok(identity.expiresAt! > Date.now());
    });

    it('puts a token without a tenant claim in the default tenant', async () => {
      const identity = await auth.verify(await hs256({ sub: 42 }));
      assert.equal(identity.userId, '42');
      assert.equal(identity.tenant, 'default');
      assert.deepEqual(identity.roles, []);
    });

    it('refuses a missing token', async () => {
      await rejectsWith(auth.verify(undefined), 'missing', /no token/);
      await rejectsWith(auth.verify(''), 'missing', /no token/);
    });

    it('refuses garbage and a wrong signature', async () => {
      await rejectsWith(auth.verify('not.a.jwt'), 'invalid', /token/);
      await rejectsWith(auth.verify(await hs256({ sub: 'alice' }, new TextEncoder().encode('another-secret-0123456789'))), 'invalid', /signature/);
    });

    it('refuses an expired token as expired', async () => {
      const token = await hs256({ sub: 'alice' }, hmac, Math.floor(Date.now() / 1000) - 60);
      await rejectsWith(auth.verify(token), 'expired', /expired/);
    });

    it('refuses a token that is not valid yet (nbf)', async () => {
      const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setNotBefore('10m').setExpirationTime('1h').sign(hmac);
      await rejectsWith(auth.verify(token), 'invalid', /claim/);
    });

    it('refuses alg: none', async () => {
      const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
      await rejectsWith(auth.verify(unsigned), 'invalid', /token/);
    });

    it('refuses a token without the user id claim', async () => {
      await rejectsWith(auth.verify(await hs256({ name: 'nobody' })), 'invalid', /user id claim \(sub\)/);
    });

    it('refuses a tenant claim that is not a valid tenant name', async () => {
      await rejectsWith(auth.verify(await hs256({ sub: 'alice', tenant: 'a:b' })), 'invalid', /tenant/);
    });

    it('refuses an info claim nested deeper than limits.maxDataDepth: presence and user events carry it', async () => {
      const deep = JSON.parse('['.repeat(100) + ']'.repeat(100));
      await rejectsWith(auth.verify(await hs256({ sub: 'deep', name: deep })), 'invalid', /^token's name claim is nested deeper than 64 levels$/);
      const shallow = await auth.verify(await hs256({ sub: 'ok', name: [['fine']] }));
      assert.deepEqual(shallow.info.name, [['fine']]);
    });

    it('refuses a token longer than 16 KiB', async () => {
      await rejectsWith(auth.verify('x'.repeat(16_385)), 'invalid', /too long/);
    });
  });

  describe('#verify with an algorithm allowlist', () => {
    it('refuses an HMAC algorithm that is not listed', async () => {
      const auth = authenticatorFor({ auth: { jwt: { secret: SECRET, algorithms: ['HS512'] } } });
      await rejectsWith(auth.verify(await hs256({ sub: 'alice' })), 'invalid', /algorithm not allowed/);
      const hs512 = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS512' }).setExpirationTime('1h').sign(hmac);
      assert.equal((await auth.verify(hs512)).userId, 'alice');
    });

    it('refuses a configuration whose algorithms do not fit the key kind', () => {
      assert.throws(() => authenticatorFor({ auth: { jwt: { secret: SECRET, algorithms: ['RS256'] } } }), /algorithms/);
    });
  });

  describe('#verify with issuer and audience', () => {
    const auth = authenticatorFor({ auth: { jwt: { secret: SECRET, issuer: 'https://id.example', audience: 'herald' } } });

    it('accepts the configured issuer and audience', async () => {
      const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.example').setAudience('herald').setExpirationTime('1h').sign(hmac);
      assert.equal((await auth.verify(token)).userId, 'alice');
    });

    it('refuses a wrong issuer', async () => {
      const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://evil.example').setAudience('herald').setExpirationTime('1h').sign(hmac);
      await rejectsWith(auth.verify(token), 'invalid', /claim invalid.*iss/);
    });

    it('refuses a wrong or missing audience', async () => {
      const wrong = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.example').setAudience('other').setExpirationTime('1h').sign(hmac);
      await rejectsWith(auth.verify(wrong), 'invalid', /claim invalid.*aud/);
      const missing = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.example').setExpirationTime('1h').sign(hmac);
      await rejectsWith(auth.verify(missing), 'invalid', /claim invalid.*aud/);
    });

    it('mints tokens with the configured issuer and audience', async () => {
      const config = parseConfig({ auth: { jwt: { secret: SECRET, issuer: 'https://id.example', audience: 'herald' } } });
      const identity = await createAuthenticator(config).verify(await signToken(config, { sub: 'bob', tenant: 't1', roles: ['r'] }, 60));
      assert.deepEqual([identity.userId, identity.tenant, identity.roles], ['bob', 't1', ['r']]);
    });
  });

  describe('#verify with an RSA public key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const auth = createAuthenticator(parseConfig({ auth: { jwt: { publicKey: pem } } }));

    it('accepts an RS256 token signed with the private key', async () => {
      const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(privateKey);
      assert.equal((await auth.verify(token)).userId, 'alice');
    });

    it('refuses an HS256 token signed with the public key PEM as the secret (HS/RS confusion)', async () => {
      const forged = await hs256({ sub: 'admin', roles: ['admin'] }, new TextEncoder().encode(pem));
      await rejectsWith(auth.verify(forged), 'invalid', /algorithm not allowed/);
    });

    it('refuses alg: none', async () => {
      const unsigned = `${b64({ alg: 'none' })}.${b64({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
      await rejectsWith(auth.verify(unsigned), 'invalid', /token/);
    });

    it('refuses a token signed by another key', async () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(other);
      await rejectsWith(auth.verify(token), 'invalid', /signature/);
    });
  });

  describe('claims mapping', () => {
    it('reads nested claims and requires a tenant when configured', async () => {
      const auth = authenticatorFor({
        auth: { jwt: { secret: SECRET }, claims: { userId: 'user.id', tenant: 'org', roles: 'realm_access.roles' } },
        tenants: { requireClaim: true },
      });
      const identity = await auth.verify(await hs256({ user: { id: 'u1' }, org: 'acme', realm_access: { roles: 'a b,c' } }));
      assert.deepEqual([identity.userId, identity.tenant, identity.roles], ['u1', 'acme', ['a', 'b', 'c']]);
      await rejectsWith(auth.verify(await hs256({ user: { id: 'u1' } })), 'invalid', /no tenant claim \(org\)/);
    });
  });
});
