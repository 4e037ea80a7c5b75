import type { Publication } from './publication.js';
import type { ServerFrame } from './frames.js';

/**
 * Encodes a publication as the native protocol's `pub` frame. Called once per publication
 * and wire format; the result is sent as-is to every subscriber.
 */
export function encodePublicationFrame(pub: Publication, state?: true): string {
  return JSON.stringify({
    type: 'pub',
    id: pub.id,
    channel: pub.channel,
    event: pub.event,
    data: pub.data,
    offset: pub.offset,
    epoch: pub.epoch,
    ts: pub.ts,
    ...(pub.publisher ? { publisher: pub.publisher } : {}),
    ...(state ? { state } : {}),
  });
}

export function encodeServerFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/** Parses a frame from the server. Throws on text that is not a JSON object with a string `type`. */
export function decodeServerFrame(text: string): ServerFrame {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    throw new TypeError('not a Herald frame');
  }
  return value as ServerFrame;
}
