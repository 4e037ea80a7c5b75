import { z } from 'zod';

/**
 * The Pusher protocol's JSON frames (protocol 7), hand-written: no maintained server library
 * speaks it. Every frame is `{event, channel?, data}`; the server sends `data` as a JSON string
 * where pusher-js expects one.
 */

/** Pusher channel names: these characters only, at most 164 of them (`#server-to-user-{id}` for signed-in users). */
export const PUSHER_CHANNEL = /^(#server-to-user-)?[A-Za-z0-9_\-=@,.;]{1,164}$/;
const channelName = z.string().regex(PUSHER_CHANNEL, 'channel names are 1-164 of A-Z a-z 0-9 _ - = @ , . ;');

/** Any frame a client sends; its `data` is checked by the event's own schema. */
export const clientFrame = z.object({
  event: z.string().min(1).max(200),
  channel: z.string().max(200).optional(),
  data: z.unknown().optional(),
});

export const subscribeData = z.object({
  channel: channelName,
  auth: z.string().max(1024).optional(),
  channel_data: z.string().max(10_240).optional(),
});

export const unsubscribeData = z.object({ channel: channelName });

export const signinData = z.object({ auth: z.string().max(1024), user_data: z.string().max(10_240) });

/** A user id as apps send it (pusher-js also takes numbers) and as Herald keeps it. */
const userId = z.union([z.string().min(1).max(128), z.number().int().transform(String)]);
const userInfo = z.record(z.string(), z.unknown());

/** The presence member in a presence channel's signed `channel_data`. */
export const channelData = z.object({ user_id: userId, user_info: userInfo.optional() });

/** The user in a sign-in's signed `user_data`. */
export const userData = z.object({ id: z.string().min(1).max(128), user_info: userInfo.optional() }).loose();

/** One frame the server sends, as JSON text. */
export function serverFrame(event: string, data: unknown, channel?: string): string {
  return JSON.stringify({ event, ...(channel !== undefined ? { channel } : {}), data });
}

/** The data of an event as pusher-js receives it: a string as it is, anything else as JSON. */
export function eventData(data: unknown): string {
  return typeof data === 'string' ? data : JSON.stringify(data ?? null);
}

/** Channels whose data the gateway relays as the app encrypted it, without reading or re-encoding it. */
export function isEncrypted(channel: string): boolean {
  return channel.startsWith('private-encrypted-');
}

/** Channels a client subscribes to with a signature: private (encrypted too) and presence. */
export function needsAuth(channel: string): boolean {
  return channel.startsWith('private-') || channel.startsWith('presence-');
}

/**
 * What the API's `data` string is stored as: its JSON value, so that native, Socket.IO and SSE
 * clients get the app's object; the string itself where it is not JSON. (An encrypted
 * channel's is kept as it came, see isEncrypted.)
 */
export function decodedData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
