import { jsonRequest } from './json-request.js';

/** A signed-in console session for tests: its cookie, and API calls made with it as the console makes them. */
export interface ConsoleAgent {
  /** `herald_console=…`, as the browser would send it. */
  cookie: string;
  /** Calls the gateway with the cookie and (unless `header: false`) `X-Herald-Console: 1`. */
  call(method: string, path: string, body?: unknown, options?: { header?: boolean }): Promise<{ status: number; body: any; headers: Headers }>;
}

/**
 * Signs in to a gateway's console with a password or an admin token over real HTTP; throws with
 * the gateway's answer when refused.
 *
 * @example
 * const admin = await consoleSignIn(herald.url, { password: 'console-password-1' });
 * const { body } = await admin.call('GET', '/api/v1/connections');
 */
export async function consoleSignIn(url: string, credentials: { password: string } | { token: string }): Promise<ConsoleAgent> {
  const answer = await jsonRequest(url, 'POST', '/console/session', credentials, { 'x-herald-console': '1' });
  if (answer.status !== 200) throw Object.assign(new Error(`console sign-in refused: ${answer.status} ${JSON.stringify(answer.body)}`), { status: answer.status, body: answer.body });
  const cookie = (answer.headers.get('set-cookie') ?? '').split(';')[0];
  return {
    cookie,
    call: (method, path, body, options = {}) => jsonRequest(url, method, path, body, { cookie, ...(options.header === false ? {} : { 'x-herald-console': '1' }) }),
  };
}
