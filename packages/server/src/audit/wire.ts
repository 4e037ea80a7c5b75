import type { StreamPosition } from '@herald/protocol';
import type { WireFormat } from '../core/outbound.js';
import type { StoredPublication } from '../engine.js';
import { encodeCursor } from '../transports/stream-cursor.js';

/** A record as readers get it: the record, and where it stands in the feed (for resume). */
const body = (p: StoredPublication) => ({ id: p.id, epoch: p.epoch, offset: p.offset, record: p.data });

/** `{"type":"audit","id","epoch","offset","record"}`: one string per record for every WebSocket reader. */
export const auditFrameFormat: WireFormat<string> = {
  name: 'audit-websocket',
  encode: (p) => JSON.stringify({ type: 'audit', ...body(p) }),
};

/** A feed position as an SSE `id`: `epoch:offset`, what Last-Event-ID gives back. */
export const positionId = (position: StreamPosition): string => encodeCursor([position]);

/**
 * `id:`, `event: audit` and `data:` of a record. Every SSE reader of the feed has the same stream
 * (one channel), so even the id is shared and the whole event is encoded once.
 */
export const auditEventFormat: WireFormat<string> = {
  name: 'audit-sse',
  encode: (p) => `id: ${positionId(p)}\nevent: audit\ndata: ${JSON.stringify(body(p))}\n\n`,
};
