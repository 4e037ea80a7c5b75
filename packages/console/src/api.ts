/**
 * Calls to the gateway's documented HTTP API (and the console's own session routes) with the
 * session cookie. Every request carries `X-Herald-Console: 1`, which the gateway requires of
 * cookie-authenticated requests (a page of another origin cannot set it).
 */

import type { ConsoleSessionReply } from '@herald/server/api';

export type SessionInfo = ConsoleSessionReply;
export type ConsoleUser = SessionInfo['user'];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | undefined>;

/** Fires `ended` when the gateway answers 401 to a signed-in request: the session expired or was signed out elsewhere. */
export const sessionEvents = new EventTarget();

function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** One request: JSON in, JSON out; a non-2xx answer throws ApiError with the API's message. */
export async function call<T>(method: 'GET' | 'POST', path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
  const response = await fetch(withQuery(path, options.query), {
    method,
    credentials: 'same-origin',
    headers: { 'x-herald-console': '1', ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.status === 401 && path !== '/console/session') sessionEvents.dispatchEvent(new Event('ended'));
  if (!response.ok) throw new ApiError(response.status, body?.error?.message ?? `${response.status} ${response.statusText}`, body?.error?.field);
  return body as T;
}

/** A channel name as a path segment. */
export const channelPath = (channel: string, rest = '') => `/api/v1/channels/${encodeURIComponent(channel)}${rest}`;
