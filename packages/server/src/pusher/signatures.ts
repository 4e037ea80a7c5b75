import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The Pusher protocol's signatures, hand-written: HMAC-SHA256 over strings the protocol fixes
 * (no maintained library verifies them on the server side; the `pusher` SDK only signs).
 */

/** HMAC-SHA256 of `text` with the app secret, as lowercase hex. */
export function sign(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** Compares in constant time, so a guess learns nothing from how long the refusal took. */
export function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function md5Hex(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

/**
 * Whether `auth` (`key:signature`, as the app's auth endpoint returns it) signs a subscription:
 * `socket_id:channel`, with `:channel_data` for presence channels.
 */
export function channelAuthValid(app: { key: string; secret: string }, auth: string, socketId: string, channel: string, channelData?: string): boolean {
  const text = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return authValid(app, auth, text);
}

/** Whether `auth` signs a user sign-in: `socket_id::user::user_data`. */
export function signinAuthValid(app: { key: string; secret: string }, auth: string, socketId: string, userData: string): boolean {
  return authValid(app, auth, `${socketId}::user::${userData}`);
}

function authValid(app: { key: string; secret: string }, auth: string, text: string): boolean {
  const colon = auth.indexOf(':');
  if (colon < 0 || auth.slice(0, colon) !== app.key) return false;
  return sameSignature(sign(app.secret, text), auth.slice(colon + 1));
}

/**
 * The string an API request signs: method, path and the query parameters but `auth_signature`,
 * lowercase names in order, `name=value` joined by `&`, values as they were before URL-encoding.
 */
export function requestSigningString(method: string, path: string, query: Record<string, string>): string {
  const pairs = Object.entries(query)
    .filter(([name]) => name !== 'auth_signature')
    .map(([name, value]) => [name.toLowerCase(), value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`);
  return `${method.toUpperCase()}\n${path}\n${pairs.join('&')}`;
}
