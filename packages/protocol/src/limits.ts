/**
 * The implicit per-tenant channel every connection receives `user:online` / `user:offline` on.
 * Names starting with `$` are reserved for such channels of the gateway's own.
 */
export const TENANT_CHANNEL = '$tenant';

/** Channel names: 1 to this many characters (UTF-16 code units). */
export const MAX_CHANNEL_LENGTH = 255;
/** Event names: 1 to this many characters. */
export const MAX_EVENT_LENGTH = 128;

// C0 and C1 control characters, and DEL: they break logs, SSE framing and terminal output.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** Returns why a channel name is invalid, or undefined when it is fine. */
export function channelNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'channel must be a string';
  if (name.length === 0) return 'channel must not be empty';
  if (name.length > MAX_CHANNEL_LENGTH) return `channel is longer than ${MAX_CHANNEL_LENGTH} characters`;
  if (CONTROL_CHARS.test(name)) return 'channel contains a control character';
  if (name.startsWith('$')) return 'channel names starting with $ are reserved';
  return undefined;
}

/** Returns why an event name is invalid, or undefined when it is fine. */
export function eventNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'event must be a string';
  if (name.length === 0) return 'event must not be empty';
  if (name.length > MAX_EVENT_LENGTH) return `event is longer than ${MAX_EVENT_LENGTH} characters`;
  if (CONTROL_CHARS.test(name)) return 'event contains a control character';
  return undefined;
}
