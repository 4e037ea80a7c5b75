import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Authenticator } from '../auth/authenticator.js';
import type { Identity } from '../auth/identity.js';
import type { HeraldConfig } from '../config/schema.js';
import { HeraldError } from '../core/errors.js';
import { TokenBucket } from '../core/rate-limiter.js';

/** Who is signed in to the console. */
export interface ConsoleUser {
  /** `password`, or the admin token's user id. */
  name: string;
  /** The one tenant this user sees and acts in; absent for an operator, who sees every tenant. */
  tenant?: string;
  via: 'password' | 'token';
  /** When the session ends, in ms since epoch. */
  expiresAt: number;
}

export type ConsoleCredentials = { password: string } | { token: string };

const SESSION_AUDIENCE = 'herald-console';
const LINK_AUDIENCE = 'herald-console-link';
/** Link tokens start with this, so the authenticator can tell them from client JWTs (which start `eyJ`). */
export const LINK_TOKEN_PREFIX = 'console.';
/** How long a link token is good for; the console's client asks for a new one when it reconnects. */
const LINK_TTL_MS = 5 * 60_000;
/** Signed-out sessions remembered until they expire; past this the oldest are forgotten first. */
const MAX_REVOKED = 10_000;

const digest = (value: string) => createHash('sha256').update(value).digest();

const unauthorized = (message: string) => new HeraldError('unauthorized', message);

/**
 * Console sessions as signed, expiring JWTs (jose, HS256 with `console.secret`): any node with
 * the same secret accepts them, with nothing stored. A sign-out is remembered on the node that
 * saw it until the session would have expired.
 */
export class ConsoleSessions {
  private readonly key: Uint8Array;
  private readonly password: Buffer | undefined;
  private readonly revoked = new Map<string, number>();
  /** Failed sign-ins, for every caller together: guessing a password is slowed to a few tries a second. */
  private readonly failures = new TokenBucket(2, 20);
  readonly adminRole: string;
  readonly operatorTenant: string;

  constructor(
    private readonly config: HeraldConfig,
    private readonly authenticator: Authenticator,
  ) {
    const section = config.console;
    this.key = section.secret ? new TextEncoder().encode(section.secret) : randomBytes(32);
    this.password = section.password ? digest(section.password) : undefined;
    this.adminRole = section.adminRole;
    this.operatorTenant = section.operatorTenant ?? config.tenants.default;
  }

  get ttlMs(): number {
    return this.config.console.sessionTtl;
  }

  /** Checks a password or an admin token; throws 401 (wrong), 403 (no admin role) or 429 (too many failures). */
  async signIn(credentials: ConsoleCredentials): Promise<ConsoleUser> {
    const expiresAt = Date.now() + this.ttlMs;
    try {
      if ('password' in credentials) {
        if (!this.password) throw unauthorized('password sign-in is not configured (console.password); sign in with an admin token');
        if (!timingSafeEqual(this.password, digest(credentials.password))) throw unauthorized('wrong password');
        return { name: 'password', via: 'password', expiresAt };
      }
      const identity = await this.verifyToken(credentials.token);
      if (!identity.roles.includes(this.adminRole)) {
        throw new HeraldError('forbidden', `this token does not carry the console's admin role (${this.adminRole})`);
      }
      const tokenEnd = identity.expiresAt ?? Infinity;
      return {
        name: identity.userId,
        ...(identity.tenant === this.operatorTenant ? {} : { tenant: identity.tenant }),
        via: 'token',
        expiresAt: Math.min(expiresAt, tokenEnd),
      };
    } catch (err) {
      if (err instanceof HeraldError && !this.failures.take()) throw new HeraldError('rateLimited', 'too many failed sign-ins; wait a few seconds');
      throw err;
    }
  }

  private async verifyToken(token: string): Promise<Identity> {
    if (token.startsWith(LINK_TOKEN_PREFIX)) throw unauthorized('a console link token does not sign in');
    try {
      return await this.authenticator.verify(token);
    } catch (err) {
      throw unauthorized(`token refused: ${(err as Error).message}`);
    }
  }

  /** The cookie value of a session. */
  issue(user: ConsoleUser): Promise<string> {
    return new SignJWT({ via: user.via, ...(user.tenant !== undefined ? { tenant: user.tenant } : {}) })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.name)
      .setAudience(SESSION_AUDIENCE)
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(user.expiresAt / 1000))
      .sign(this.key);
  }

  /** The user of a session cookie, or undefined when it is not one, has expired or was signed out. */
  async verify(cookie: string | undefined): Promise<ConsoleUser | undefined> {
    if (!cookie) return undefined;
    try {
      const { payload } = await jwtVerify(cookie, this.key, { audience: SESSION_AUDIENCE, algorithms: ['HS256'] });
      if (typeof payload.jti !== 'string' || this.revoked.has(payload.jti) || typeof payload.sub !== 'string') return undefined;
      return {
        name: payload.sub,
        ...(typeof payload.tenant === 'string' ? { tenant: payload.tenant } : {}),
        via: payload.via === 'token' ? 'token' : 'password',
        expiresAt: (payload.exp ?? 0) * 1000,
      };
    } catch (err) {
      if (err instanceof errors.JOSEError) return undefined;
      throw err;
    }
  }

  /** Signs a session out on this node. */
  async revoke(cookie: string | undefined): Promise<void> {
    if (!cookie) return;
    try {
      const { payload } = await jwtVerify(cookie, this.key, { audience: SESSION_AUDIENCE, algorithms: ['HS256'] });
      if (typeof payload.jti !== 'string') return;
      const now = Date.now();
      for (const [id, until] of this.revoked) if (until <= now) this.revoked.delete(id);
      while (this.revoked.size >= MAX_REVOKED) this.revoked.delete(this.revoked.keys().next().value!);
      this.revoked.set(payload.jti, (payload.exp ?? 0) * 1000);
    } catch {
      // Not a valid session: nothing to sign out.
    }
  }

  /**
   * A short-lived token for the console's own live connection, in one tenant: its identity holds
   * the admin role (and the audit feed's) and a grant of every channel of that tenant (for the live tail), and is an
   * observer, never shown in presence nor announced online.
   */
  async linkToken(user: ConsoleUser, tenant: string): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = Math.min(Date.now() + LINK_TTL_MS, user.expiresAt);
    const jwt = await new SignJWT({ tenant })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.name)
      .setAudience(LINK_AUDIENCE)
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(this.key);
    return { token: LINK_TOKEN_PREFIX + jwt, expiresAt };
  }

  /** The identity of a link token (see linkToken); throws as an authenticator does. */
  async linkIdentity(token: string): Promise<Identity> {
    const { payload } = await jwtVerify(token.slice(LINK_TOKEN_PREFIX.length), this.key, { audience: LINK_AUDIENCE, algorithms: ['HS256'] });
    if (typeof payload.sub !== 'string' || typeof payload.tenant !== 'string') throw new Error('link token without subject or tenant');
    return {
      userId: `console:${payload.sub}`,
      tenant: payload.tenant,
      // The audit feed's role too: the console shows the feed to whoever may use the console.
      roles: [...new Set([this.adminRole, this.config.audit.adminRole])],
      info: { name: `console (${payload.sub})` },
      channels: ['*'],
      expiresAt: (payload.exp ?? 0) * 1000,
      observer: true,
    };
  }
}
