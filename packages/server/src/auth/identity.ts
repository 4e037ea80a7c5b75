/** Who a connection is, from its token. */
export interface Identity {
  userId: string;
  tenant: string;
  roles: string[];
  /** Display info copied from the token's claims (see `auth.claims.info`), shown in presence. */
  info: Record<string, unknown>;
  /** Channels the token itself grants subscription to. */
  channels: string[];
  /** Token expiry in ms since epoch, when the token has one. */
  expiresAt?: number;
  /**
   * Watches without being seen (the console's own connection): it is in no channel's presence,
   * causes no join or leave, and is never announced online or offline.
   */
  observer?: true;
}

export type AuthFailure = 'missing' | 'invalid' | 'expired';

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(readonly failure: AuthFailure, message: string) {
    super(message);
  }
}
