import { createPublicKey, type KeyObject } from 'node:crypto';
import { MAX_TOKEN_LENGTH } from '@herald/protocol';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { HeraldConfig } from '../config/schema.js';
import { identityFromClaims } from './claims.js';
import { AuthError, type Identity } from './identity.js';


const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export interface Authenticator {
  /** Verifies a token and maps its claims; throws AuthError with a reason a client can read. */
  verify(token: string | undefined): Promise<Identity>;
}

/**
 * Verifies JWTs with `jose`. A shared secret only accepts HMAC algorithms and a public key or
 * JWKS only asymmetric ones, so a token signed with the public key as an HMAC secret
 * (HS/RS confusion) and `alg: none` are both refused.
 */
export function createAuthenticator(config: HeraldConfig): Authenticator {
  const jwt = config.auth.jwt;
  let key: Uint8Array | KeyObject | JWTVerifyGetKey;
  let allowed: string[];
  if (jwt.secret) {
    key = new TextEncoder().encode(jwt.secret);
    allowed = HMAC_ALGS;
  } else if (jwt.publicKey) {
    key = createPublicKey(jwt.publicKey);
    allowed = ASYMMETRIC_ALGS;
  } else if (jwt.jwksUrl) {
    key = createRemoteJWKSet(new URL(jwt.jwksUrl));
    allowed = ASYMMETRIC_ALGS;
  } else {
    throw new Error('auth.jwt needs a secret, publicKey or jwksUrl');
  }
  const algorithms = jwt.algorithms ? jwt.algorithms.filter((a) => allowed.includes(a)) : allowed;
  if (algorithms.length === 0) throw new Error(`auth.jwt.algorithms: none of ${jwt.algorithms} fits the configured key kind`);
  const options = {
    algorithms,
    clockTolerance: Math.round(jwt.clockTolerance / 1000),
    ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
    ...(jwt.audience ? { audience: jwt.audience } : {}),
  };

  return {
    async verify(token) {
      if (!token) throw new AuthError('missing', 'no token');
      if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('invalid', 'token too long');
      try {
        const { payload } = await jwtVerify(token, key as Uint8Array, options);
        return identityFromClaims(payload as Record<string, unknown>, config);
      } catch (err) {
        if (err instanceof AuthError) throw err;
        if (err instanceof errors.JWTExpired) throw new AuthError('expired', 'token expired');
        if (err instanceof errors.JOSEAlgNotAllowed) throw new AuthError('invalid', 'token algorithm not allowed');
        if (err instanceof errors.JWTClaimValidationFailed) throw new AuthError('invalid', `token claim invalid: ${err.message}`);
        if (err instanceof errors.JWSSignatureVerificationFailed) throw new AuthError('invalid', 'token signature invalid');
        throw new AuthError('invalid', 'token invalid');
      }
    },
  };
}

export interface TokenClaims {
  sub: string;
  tenant?: string;
  roles?: string[];
  name?: string;
  channels?: string[];
  [claim: string]: unknown;
}

/**
 * Mints an HS256 token with the configured secret, as `herald token` does. `sub`, `tenant`,
 * `roles` and `channels` go to the claims `auth.claims` names; other claims are written as named.
 */
export async function signToken(config: HeraldConfig, claims: TokenClaims, ttlSeconds: number): Promise<string> {
  const secret = config.auth.jwt.secret;
  if (!secret) throw new Error('herald token needs a shared secret (JWT_SECRET); tokens for a public key are minted by your identity provider');
  const map = config.auth.claims;
  const payload: Record<string, unknown> = {};
  const { sub, tenant, roles, channels, ...rest } = claims;
  // Place values where the claims mapping will look for them.
  setPath(payload, map.userId, sub);
  if (tenant !== undefined) setPath(payload, map.tenant, tenant);
  if (roles !== undefined) setPath(payload, map.roles, roles);
  if (channels !== undefined) setPath(payload, map.channels, channels);
  // Other claims as given; a dotted name (`profile.name`) is a nested claim, as the mapping reads it.
  for (const [path, value] of Object.entries(rest)) setPath(payload, path, value);
  let builder = new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(`${ttlSeconds}s`);
  if (config.auth.jwt.issuer) builder = builder.setIssuer(config.auth.jwt.issuer);
  if (config.auth.jwt.audience) builder = builder.setAudience(config.auth.jwt.audience);
  return builder.sign(new TextEncoder().encode(secret));
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
}
