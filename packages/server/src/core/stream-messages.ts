import { eventNameProblem } from '@herald/protocol';
import type { StreamChunk, StreamRun } from '../engine.js';

/** How a stream's chunks coalesce: tokens are joined as they are, lines with a newline between them. */
export const STREAM_KINDS = {
  tokens: { field: 'content', separator: '' },
  lines: { field: 'line', separator: '\n' },
} as const;
export type StreamKind = keyof typeof STREAM_KINDS;

/** A message as the backend sends it: a JSON object, delivered as it is (seed 002's `{"type": ...}`). */
export type StreamMessage = Record<string, unknown>;

/** What the core keeps with a stream (the engine's opaque `meta`). */
export interface StreamMeta {
  tenant: string;
  channels: string[];
  kind: StreamKind;
  /** The field whose text coalesces. */
  field: string;
  start?: StreamMessage;
  /** Published when a viewer cancels. */
  cancelled: StreamMessage;
  /** Published when the stream ends on its idle timeout; its `error` is set to the reason. */
  failed: StreamMessage;
}

/** The event name a message is published under: its `type` when that is a valid event name. */
export function eventOf(message: StreamMessage): string {
  const type = message.type;
  return typeof type === 'string' && eventNameProblem(type) === undefined ? type : 'stream';
}

/**
 * A chunk's text and group. The group is the message with its text emptied, so that chunks
 * alike in every other field (`type`, `stream`) coalesce, and the coalesced message keeps the
 * backend's field order.
 */
export function chunkOf(message: StreamMessage, field: string): StreamChunk {
  return { group: JSON.stringify({ ...message, [field]: '' }), text: message[field] as string };
}

/** A coalesced run as one message: the group's fields with the run's whole text. */
export function runMessage(run: StreamRun, field: string): StreamMessage {
  return { ...(JSON.parse(run.group) as StreamMessage), [field]: run.text };
}
