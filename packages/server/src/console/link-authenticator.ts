import type { Authenticator } from '../auth/authenticator.js';
import { AuthError } from '../auth/identity.js';
import { LINK_TOKEN_PREFIX, type ConsoleSessions } from './sessions.js';

/**
 * Client tokens as before, plus the console's link tokens (see ConsoleSessions.linkToken), so
 * that the console connects over the same transports as any client.
 */
export function withConsoleLinks(authenticator: Authenticator, sessions: ConsoleSessions): Authenticator {
  return {
    async verify(token) {
      if (!token?.startsWith(LINK_TOKEN_PREFIX)) return authenticator.verify(token);
      try {
        return await sessions.linkIdentity(token);
      } catch (err) {
        const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
        throw new AuthError(expired ? 'expired' : 'invalid', expired ? 'console link token expired' : 'console link token invalid');
      }
    },
  };
}
