import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HeraldConfig } from '../config/schema.js';
import { forbidden, HeraldError, unavailable } from '../core/errors.js';
import type { Node } from '../core/node.js';
import type { ApiCaller } from '../http/api-auth.js';
import { addRoute } from '../http/route-doc.js';
import { parseOr400, sendHeraldError } from '../http/validation.js';
import { CONSOLE_HEADER, CONSOLE_PATH, linkBody, linkRoute, SESSION_COOKIE, sessionRoute, signInBody, signInRoute, signOutRoute } from './route-docs.js';
import type { ConsoleSessions, ConsoleUser } from './sessions.js';
import { readStaticFiles } from './static-files.js';

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
  const answer = (user: ConsoleUser) => ({ user, operatorTenant: sessions.operatorTenant, websocket: config.websocket.path, audit: config.audit.enabled ? config.audit.path : null });
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
  // No build tools at run time: the files are the bundle `npm run build` made.
  const files = readStaticFiles(root);
  if (!files) node.logger.warn({ assets: root }, 'the console is not built: /console answers 503 (run npm run build)');
  app.get(`${CONSOLE_PATH}/*`, async (request, reply) => {
    if (!files) throw unavailable('the console is not built on this server (npm run build makes it)');
    const name = (request.params as { '*': string })['*'] || 'index.html';
    const file = files.get(name);
    if (!file) throw new HeraldError('notFound', 'no such file in the console');
    return reply.type(file.type).header('Cache-Control', 'no-cache').send(file.body);
  });
  app.get(CONSOLE_PATH, async (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`));
}
