import type { StreamPosition } from '@herald/protocol';
import { z } from 'zod';
import { badRequest } from '../core/errors.js';

/** Where a reader stopped in the feed: the `epoch` and `offset` of its last record (or of `subscribed`). */
export const feedPosition = z.strictObject({
  epoch: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an epoch as the feed gave it'),
  offset: z.number().int().min(0),
});

/** `?epoch=E&offset=N` on the WebSocket URL: both or neither. Throws 400 naming the field. */
export function positionFromQuery(params: URLSearchParams): StreamPosition | undefined {
  const epoch = params.get('epoch');
  const offset = params.get('offset');
  if (epoch === null && offset === null) return undefined;
  if (epoch === null) throw badRequest('epoch: give epoch with offset', 'epoch');
  if (offset === null || !/^\d{1,15}$/.test(offset)) throw badRequest('offset: a whole number, with epoch', 'offset');
  const parsed = feedPosition.safeParse({ epoch, offset: Number(offset) });
  if (!parsed.success) throw badRequest(`epoch: ${parsed.error.issues[0].message}`, 'epoch');
  return parsed.data;
}
