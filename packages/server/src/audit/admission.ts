import type { IncomingMessage } from 'node:http';
import { forbidden, unavailable, type HeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import type { Identity } from '../auth/identity.js';
import { originAllowed, upgradeToken } from '../transports/websocket.js';
import type { AuditFeed } from './feed.js';
import { filterFromQuery, type AuditFilter } from './filter.js';

/** A reader both endpoints let in: who, what they asked to see, and their scope (see AuditFeed.scopeOf). */
export interface Admission {
  identity: Identity;
  filter: AuditFilter;
  scope: string | undefined;
}

/** What refuses a request before its token is read: a disallowed Origin (announced), a node shutting down. */
export function refusalBeforeToken(node: Node, req: IncomingMessage, where: { transport: string; path: string }): HeraldError | undefined {
  if (!originAllowed(node.config.server.corsOrigins, req.headers.origin)) {
    node.events.emit('denial', { reason: 'origin', ...where });
    return forbidden('origin not allowed');
  }
  if (!node.accepting) return unavailable('server is shutting down');
  return undefined;
}

/**
 * The token (`?token=` or `Authorization: Bearer`), the URL's filter (`params` are the endpoint's
 * other parameters) and the scope, then room on this node; throws the HeraldError to answer.
 */
export async function admitReader(node: Node, feed: AuditFeed, req: IncomingMessage, url: URL, where: { transport: string; path: string }, params: readonly string[]): Promise<Admission> {
  const identity = await node.handshake.authenticate(upgradeToken(req, url), where);
  const filter = filterFromQuery(url.searchParams, ['token', ...params]);
  const scope = feed.scopeOf(identity, filter, where);
  feed.checkRoom();
  return { identity, filter, scope };
}
