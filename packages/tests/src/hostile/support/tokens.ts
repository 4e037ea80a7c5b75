import { createHmac, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { TEST_SECRET } from '@herald/server/testing';

const b64url = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT with any header, claims and signature a forger might choose. */
function jwt(header: Record<string, unknown>, claims: Record<string, unknown>, sign: (input: string) => string): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${sign(input)}`;
}

const hs256 = (secret: string | Buffer) => (input: string) => createHmac('sha256', secret).update(input).digest('base64url');
const rs256 = (key: KeyObject) => (input: string) => createSign('RSA-SHA256').update(input).sign(key).toString('base64url');

const now = () => Math.floor(Date.now() / 1000);
const claimsFor = (sub: string, extra: Record<string, unknown> = {}) => ({ sub, iat: now(), exp: now() + 3600, ...extra });

/** Tokens a gateway with `auth.jwt.secret` = TEST_SECRET must refuse, by the reason it should give. */
export function forgedSecretTokens(sub = 'mallory'): { name: string; token: string; reason: RegExp }[] {
  const { privateKey } = strangerKeys();
  return [
    { name: 'alg none', token: jwt({ alg: 'none', typ: 'JWT' }, claimsFor(sub), () => ''), reason: /algorithm not allowed/ },
    { name: 'alg none with a signature', token: jwt({ alg: 'none' }, claimsFor(sub), hs256(TEST_SECRET)), reason: /algorithm not allowed/ },
    { name: 'an RS256 token for an HMAC secret', token: jwt({ alg: 'RS256' }, claimsFor(sub), rs256(privateKey)), reason: /algorithm not allowed/ },
    { name: 'expired', token: jwt({ alg: 'HS256' }, claimsFor(sub, { iat: now() - 7200, exp: now() - 3600 }), hs256(TEST_SECRET)), reason: /expired/ },
    { name: 'not yet valid', token: jwt({ alg: 'HS256' }, claimsFor(sub, { nbf: now() + 3600 }), hs256(TEST_SECRET)), reason: /claim invalid/ },
    { name: 'a wrong signature', token: jwt({ alg: 'HS256' }, claimsFor(sub), hs256('another-secret-0123456789')), reason: /signature invalid/ },
    { name: 'claims changed after signing', token: tamper(jwt({ alg: 'HS256' }, claimsFor(sub), hs256(TEST_SECRET)), { roles: ['admin'] }), reason: /signature invalid/ },
    { name: 'garbage', token: 'not.a.jwt', reason: /token invalid/ },
    { name: 'garbage without dots', token: '%%%garbage%%%', reason: /token invalid/ },
    { name: 'a header that is not JSON', token: `${b64url('{nope')}.${b64url(claimsFor(sub))}.sig`, reason: /token invalid/ },
    { name: 'too long', token: 'a'.repeat(17_000), reason: /too long/ },
  ];
}

/** Re-encodes the claims of a signed token, keeping the old signature. */
function tamper(token: string, extra: Record<string, unknown>): string {
  const [header, claims, signature] = token.split('.');
  return `${header}.${b64url({ ...JSON.parse(Buffer.from(claims, 'base64url').toString()), ...extra })}.${signature}`;
}

let stranger: ReturnType<typeof generateKeyPairSync> | undefined;
/** An RSA key pair no gateway knows, made once: key generation is slow. */
const strangerKeys = () => (stranger ??= generateKeyPairSync('rsa', { modulusLength: 2048 }));

/** An RSA key pair and tokens for a gateway configured with its public key. */
export function rsaKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    publicPem,
    /** A JWK for a JWKS document, with the key id tokens carry. */
    jwk: { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' },
    valid: (sub: string, extra: Record<string, unknown> = {}) => jwt({ alg: 'RS256', kid: 'k1' }, claimsFor(sub, extra), rs256(privateKey)),
    /** HS/RS confusion: HMAC-signed with the public key's PEM as the secret. */
    confused: (sub: string) => jwt({ alg: 'HS256', kid: 'k1' }, claimsFor(sub), hs256(publicPem)),
    /** Signed by a key the gateway does not know, under the known key id. */
    foreign: (sub: string) => jwt({ alg: 'RS256', kid: 'k1' }, claimsFor(sub), rs256(strangerKeys().privateKey)),
  };
}
