import type { StreamPosition } from '@herald/protocol';

const PART = /^([A-Za-z0-9_-]{1,64}):(\d{1,15})$/;
const CONNECTION_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Longest cursor accepted; anything longer is forged or from another stream. */
export const MAX_CURSOR_LENGTH = 8192;
/** How a cursor without positions is written (a Socket.IO socket in no room): never empty, so clients keep it. */
const NO_POSITIONS = '-';

/** Where a client stands in its streams, and the connection that sent it there. */
export interface Cursor {
  positions: StreamPosition[];
  /** The connection the cursor came from: a reconnect with it replaces that connection. */
  connectionId?: string;
}

/**
 * A position in several streams as one opaque string: each stream's `epoch:offset` joined by
 * `,`, then optionally `;` and the connection id. The SSE `id:` of every event and the Socket.IO
 * recovery offset are such cursors, so one value given back on reconnect resumes every channel.
 * It never contains CR, LF or a quote.
 */
export function encodeCursor(positions: Iterable<StreamPosition>, connectionId?: string): string {
  let text = '';
  for (const p of positions) text += `${text === '' ? '' : ','}${p.epoch}:${p.offset}`;
  if (text === '') text = NO_POSITIONS;
  return connectionId === undefined ? text : `${text};${connectionId}`;
}

/** Parses a cursor; with `count`, it must hold exactly that many positions. Undefined when it is malformed. */
export function decodeCursor(text: string, count?: number): Cursor | undefined {
  if (text.length > MAX_CURSOR_LENGTH) return undefined;
  const [body, connectionId, ...rest] = text.split(';');
  if (rest.length > 0 || (connectionId !== undefined && !CONNECTION_ID.test(connectionId))) return undefined;
  const positions: StreamPosition[] = [];
  if (body !== NO_POSITIONS) {
    for (const part of body.split(',')) {
      const m = PART.exec(part);
      if (!m) return undefined;
      positions.push({ epoch: m[1], offset: Number(m[2]) });
    }
  }
  if (count !== undefined && positions.length !== count) return undefined;
  return connectionId === undefined ? { positions } : { positions, connectionId };
}
