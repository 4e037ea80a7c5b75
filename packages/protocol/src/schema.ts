import { z } from 'zod';
import { MAX_TOKEN_LENGTH, type ClientFrame, CONNECT_FRAME_TYPES } from './frames.js';

/*
 * The validation schema of client frames, for servers: its own entry point
 * (`@herald/protocol/schema`), so that clients importing the protocol do not carry zod.
 */

const requestId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional();
const channel = z.string();
const since = z.union([
  z.strictObject({ offset: z.number().int().nonnegative(), epoch: z.string().min(1).max(64) }),
  z.strictObject({ lastId: z.string().min(1).max(128) }),
]);

/** Client frames of the native protocol (docs/protocol.md). Names are checked by the server, with their own messages. */
export const clientFrameSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.enum(CONNECT_FRAME_TYPES),
    id: requestId,
    token: z.string().min(1).max(MAX_TOKEN_LENGTH),
    replaces: z.string().min(1).max(64).optional(),
  }),
  z.object({ type: z.literal('subscribe'), id: requestId, channel, since: since.optional() }),
  z.object({ type: z.literal('unsubscribe'), id: requestId, channel }),
  z.object({
    type: z.literal('publish'),
    id: requestId,
    channel,
    event: z.string(),
    data: z.unknown().optional(),
    idempotencyKey: z.string().min(1).max(256).optional(),
  }),
  z.object({ type: z.literal('presence'), id: requestId, channel }),
  z.object({ type: z.literal('history'), id: requestId, channel, limit: z.number().int().min(0).max(10_000).optional(), since: since.optional() }),
  z.object({ type: z.literal('lock'), id: requestId, channel, name: z.string() }),
  z.object({ type: z.literal('unlock'), id: requestId, channel, name: z.string() }),
  z.object({ type: z.literal('cancel'), id: requestId, channel: channel.optional(), streamId: z.string().min(1).max(64).optional() }),
  z.object({ type: z.literal('ping'), id: requestId }),
  z.object({ type: z.literal('pong') }),
  z.object({ type: z.literal('refresh'), id: requestId, token: z.string().min(1).max(MAX_TOKEN_LENGTH) }),
]);

/** A frame that passed the schema: one of the protocol's ClientFrame types. */
export type ParsedClientFrame = z.infer<typeof clientFrameSchema>;

/** Compiles only when every frame the schema accepts is one the protocol's types describe. */
type Describes<T extends ClientFrame> = T;
export type SchemaMatchesFrames = Describes<ParsedClientFrame>;

/** The first issue of a failed parse, as `field: message`. */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  const field = issue.path.join('.') || 'frame';
  return { field, message: `${field}: ${issue.message}` };
}
