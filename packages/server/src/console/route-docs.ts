import { z } from 'zod';
import type { HeraldConfig } from '../config/schema.js';
import { errors, type RouteDoc } from '../http/route-doc.js';
import { tenantName } from '../http/schemas.js';

/* The console's own routes as the OpenAPI document describes them (see routes.ts for the handlers). */

/** The session cookie: HttpOnly, SameSite=Strict, for the whole gateway (the console calls /api/v1). */
export const SESSION_COOKIE = 'herald_console';
/**
 * Every request made with the session cookie carries this header. A page of another origin cannot
 * set it without a CORS preflight, which the gateway does not grant for it: with SameSite=Strict,
 * the second guard against cross-site requests.
 */
export const CONSOLE_HEADER = 'x-herald-console';

export const CONSOLE_PATH = '/console';

export const signInBody = z.union([
  z.strictObject({ password: z.string().min(1).max(1024) }),
  z.strictObject({ token: z.string().min(1).max(16_384).meta({ description: 'A client JWT carrying `console.adminRole`.' }) }),
]);

export const linkBody = z.strictObject({
  tenant: tenantName.optional().meta({ description: "The tenant of the live connection; default the user's own (an operator's: `console.operatorTenant`)." }),
});

const consoleUser = z.object({
  name: z.string().meta({ description: '`password`, or the user id of the admin token.' }),
  tenant: z.string().optional().meta({ description: 'The one tenant this user sees; absent for an operator, who sees every tenant.' }),
  via: z.enum(['password', 'token']),
  expiresAt: z.number().int(),
});

const sessionResult = z.object({
  user: consoleUser,
  operatorTenant: z.string(),
  websocket: z.string().meta({ description: "The native WebSocket path, for the console's live connection." }),
  audit: z.string().nullable().meta({ description: 'The audit feed\'s WebSocket path (`audit.path`), or null when the feed is off.' }),
});

const linkResult = z.object({ token: z.string(), expiresAt: z.number().int(), tenant: z.string() });

const headerNote = `Requests other than sign-in carry the session cookie \`${SESSION_COOKIE}\` and the header \`X-Herald-Console: 1\` (403 without it).`;

export const signInRoute = {
  method: 'POST',
  url: '/console/session',
  operationId: 'consoleSignIn',
  tag: 'console',
  summary: 'Sign in to the console with the console password or an admin token',
  description: `Sets the HttpOnly, SameSite=Strict session cookie \`${SESSION_COOKIE}\`. Needs the header \`X-Herald-Console: 1\`. 401 for a wrong password or token, 403 for a token without the admin role, 429 after many failures.`,
  auth: 'none',
  body: signInBody,
  responses: { 200: { description: 'Signed in.', schema: sessionResult }, ...errors(400, 401, 403, 415, 429) },
} satisfies RouteDoc;

export const sessionRoute = {
  method: 'GET',
  url: '/console/session',
  operationId: 'consoleSession',
  tag: 'console',
  summary: 'Who is signed in to the console',
  description: headerNote,
  auth: 'none',
  responses: { 200: { description: 'The signed-in user.', schema: sessionResult }, ...errors(401, 403) },
} satisfies RouteDoc;

export const signOutRoute = {
  method: 'POST',
  url: '/console/session/end',
  operationId: 'consoleSignOut',
  tag: 'console',
  summary: 'Sign out of the console',
  description: `Clears the cookie and refuses the session from now on. ${headerNote}`,
  auth: 'none',
  responses: { 200: { description: 'Signed out.', schema: z.object({ signedOut: z.literal(true) }) }, ...errors(403) },
} satisfies RouteDoc;

export const linkRoute = {
  method: 'POST',
  url: '/console/link',
  operationId: 'consoleLink',
  tag: 'console',
  summary: "A short-lived token for the console's own live connection",
  description: `Its identity holds the admin role and a grant of every channel of the tenant, and lives at most 5 minutes. A tenant admin gets only its tenant (403 otherwise). ${headerNote}`,
  auth: 'none',
  body: linkBody,
  optionalBody: true,
  responses: { 200: { description: 'A link token.', schema: linkResult }, ...errors(400, 401, 403) },
} satisfies RouteDoc;

/** The console's documented routes, when the configuration turns it on. */
export function consoleRouteDocs(config: HeraldConfig): RouteDoc[] {
  return config.console.enabled ? [signInRoute, sessionRoute, signOutRoute, linkRoute] : [];
}

