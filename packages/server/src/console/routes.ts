import { existsSync } from 'node:fs';
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { ErrorCode } from '@herald/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { HeraldConfig } from '../config/schema.js';
import { forbidden, HeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import type { ApiCaller } from '../http/api-auth.js';
import { addRoute, errors, type RouteDoc } from '../http/route-doc.js';
import { tenantName } from '../http/schemas.js';
import { parseOr400, sendHeraldError } from '../http/validation.js';
import type { ConsoleSessions, ConsoleUser } from './sessions.js';

/** The session cookie: HttpOnly, SameSite=Strict, for the whole gateway (the console calls /api/v1). */
export const SESSION_COOKIE = 'herald_console';
/**
 * Every request made with the session cookie carries this header. A page of another origin cannot
 * set it without a CORS preflight, which the gateway does not grant for it: with SameSite=Strict,
 * the second guard against cross-site requests.
 */
export const CONSOLE_HEADER = 'x-herald-console';

export const CONSOLE_PATH = '/console';

const signInBody = z.union([
  z.strictObject({ password: z.string().min(1).max(1024) }),
  z.strictObject({ token: z.string().min(1).max(16_384).meta({ description: 'A client JWT carrying `console.adminRole`.' }) }),
]);

const linkBody = z.strictObject({
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

/** Where the built console is: `console.assets`, or the console package's dist beside this one. */
export function consoleAssets(config: HeraldConfig): string {
  // dist/console/routes.js → packages/console/dist/public/
  return config.console.assets ?? fileURLToPath(new URL('../../../console/dist/public/', import.meta.url));
}

/** The session cookie of a request, if any. */
function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  return header ? parseCookies(header)[SESSION_COOKIE] : undefined;
}

const headerMissing = () => forbidden('console requests carry the header X-Herald-Console: 1');

/** The signed-in user of a request, checking the header; throws 401 without a session and 403 without the header. */
async function requireUser(request: FastifyRequest, sessions: ConsoleSessions): Promise<ConsoleUser> {
  if (request.headers[CONSOLE_HEADER] !== '1') throw headerMissing();
  const user = await sessions.verify(sessionCookie(request));
  if (!user) throw new HeraldError('unauthorized', 'not signed in to the console, or the session has ended');
  return user;
}

/**
 * The API caller of a request made with a console session: its tenant is the user's, so every
 * route scopes it as it would a tenant-bound key. Undefined without a session cookie; throws 403
 * when the cookie comes without the console header.
 */
export function consoleCaller(sessions: ConsoleSessions) {
  return async (request: FastifyRequest): Promise<ApiCaller | undefined> => {
    const user = await sessions.verify(sessionCookie(request));
    if (!user) return undefined;
    if (request.headers[CONSOLE_HEADER] !== '1') throw headerMissing();
    return { name: `console:${user.name}`, ...(user.tenant !== undefined ? { tenant: user.tenant } : {}) };
  };
}

function secure(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

/**
 * The console: the built single-page app at `/console/`, sign-in and sign-out, and link tokens
 * for its live connection. The app calls the documented HTTP API with its session cookie.
 */
export function consoleRoutes(app: FastifyInstance, node: Node, sessions: ConsoleSessions): void {
  const config = node.config;
  const answer = (user: ConsoleUser) => ({ user, operatorTenant: sessions.operatorTenant, websocket: config.websocket.path });
  const send = async <T>(reply: FastifyReply, work: () => Promise<T>) => {
    try {
      return await work();
    } catch (err) {
      return sendHeraldError(err, reply);
    }
  };

  addRoute(app, config, signInRoute, async (request, reply) =>
    send(reply, async () => {
      if (request.headers[CONSOLE_HEADER] !== '1') throw headerMissing();
      const body = parseOr400(signInBody, request.body, reply);
      if (!body) return reply;
      const user = await sessions.signIn(body);
      const cookie = await sessions.issue(user);
      const maxAge = Math.max(1, Math.floor((user.expiresAt - Date.now()) / 1000));
      void reply.header('Set-Cookie', serializeCookie(SESSION_COOKIE, cookie, { httpOnly: true, sameSite: 'strict', secure: secure(request), path: '/', maxAge }));
      node.logger.info({ event: 'console_sign_in', user: user.name, via: user.via, tenant: user.tenant ?? '*' }, 'console sign-in');
      return answer(user);
    }),
  );

  addRoute(app, config, sessionRoute, async (request, reply) => send(reply, async () => answer(await requireUser(request, sessions))));

  addRoute(app, config, signOutRoute, async (request, reply) =>
    send(reply, async () => {
      if (request.headers[CONSOLE_HEADER] !== '1') throw headerMissing();
      await sessions.revoke(sessionCookie(request));
      void reply.header('Set-Cookie', serializeCookie(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: secure(request), path: '/', maxAge: 0 }));
      return { signedOut: true as const };
    }),
  );

  addRoute(app, config, linkRoute, async (request, reply) =>
    send(reply, async () => {
      const user = await requireUser(request, sessions);
      const body = parseOr400(linkBody, request.body ?? {}, reply);
      if (!body) return reply;
      const tenant = body.tenant ?? user.tenant ?? sessions.operatorTenant;
      if (user.tenant !== undefined && tenant !== user.tenant) throw forbidden(`this console user sees only tenant ${user.tenant}`);
      return { ...(await sessions.linkToken(user, tenant)), tenant };
    }),
  );

  const root = consoleAssets(config);
  if (existsSync(root)) {
    // No build tools at run time: the files are the bundle `npm run build` made.
    void app.register(fastifyStatic, { root, prefix: `${CONSOLE_PATH}/`, index: 'index.html', cacheControl: false });
  } else {
    app.get(`${CONSOLE_PATH}/*`, async (_request, reply) =>
      reply.code(503).send({ error: { code: ErrorCode.Unavailable, message: `the console is not built (no ${root}); run npm run build` } }),
    );
  }
  app.get(CONSOLE_PATH, async (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`));
}
