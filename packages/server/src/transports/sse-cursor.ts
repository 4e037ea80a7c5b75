import type { StreamPosition } from '@herald/protocol';

const PART = /^([A-Za-z0-9_-]{1,64}):(\d{1,15})$/;
/** Longest cursor accepted; anything longer is forged or from another stream. */
export const MAX_CURSOR_LENGTH = 8192;

/**
 * The SSE `id:` of a stream: every channel's position, in the stream's channel order, as
 * `epoch:offset` joined by `,`. A client's `Last-Event-ID` gives it back on reconnect, so one
 * id resumes every channel of the stream. It never contains CR or LF.
 */
export function encodeCursor(positions: readonly StreamPosition[]): string {
  return positions.map((p) => `${p.epoch}:${p.offset}`).join(',');
}

/** Parses a cursor for a stream of `count` channels; undefined when it is malformed. */
export function decodeCursor(text: string, count: number): StreamPosition[] | undefined {
  if (text.length > MAX_CURSOR_LENGTH) return undefined;
  const parts = text.split(',');
  if (parts.length !== count) return undefined;
  const positions: StreamPosition[] = [];
  for (const part of parts) {
    const m = PART.exec(part);
    if (!m) return undefined;
    positions.push({ epoch: m[1], offset: Number(m[2]) });
  }
  return positions;
}
