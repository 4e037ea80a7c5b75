import type { RecoveryResult, RecoverySince, StreamPosition } from '@herald/protocol';
import type { HistoryPage, StoredPublication } from '../engine.js';

export interface RecoveryPlan {
  result: RecoveryResult;
  /** Publications to replay, in order. */
  replay: StoredPublication[];
  /** The stream position after the replay; live publications at or below it are not sent. */
  offset: number;
}

/**
 * Where a client stopped, as one of several stream positions: the one in the channel's current
 * epoch counts, the furthest if several are. A Socket.IO cursor holds every room's position by
 * epoch and cannot say which is whose; epochs are random per stream, so only the room's own
 * can match. Server-side only.
 */
export interface AnyPosition {
  positions: StreamPosition[];
}

/** Where a client stopped by a field of the app's data, e.g. its last `revision`. Server-side only. */
export interface AfterField {
  field: string;
  after: number;
}

export type ResumeFrom = RecoverySince | AnyPosition | AfterField;

function fieldOf(p: StoredPublication, field: string): number {
  const value = (p.data as Record<string, unknown> | null)?.[field];
  return typeof value === 'number' ? value : Number.NaN;
}

/** The position among `positions` that belongs to the page's stream, or undefined when none does. */
export function positionInEpoch(positions: readonly StreamPosition[], epoch: string): StreamPosition | undefined {
  let found: StreamPosition | undefined;
  for (const p of positions) if (p.epoch === epoch && (!found || p.offset > found.offset)) found = p;
  return found;
}

/**
 * Decides what a resubscribing client gets from a history page read after its position.
 * Never a silent gap: anything that cannot be replayed is reported with its offset range.
 */
export function planRecovery(since: ResumeFrom, page: HistoryPage, historyKept: boolean): RecoveryPlan {
  const notRecovered = (reason: RecoveryResult['reason'], replay: StoredPublication[] = [], missing?: { from: number; to: number }): RecoveryPlan => ({
    result: { recovered: false, reason, replayed: replay.length, ...(missing ? { missing } : {}) },
    replay,
    offset: page.offset,
  });

  if ('field' in since) {
    const replay = page.publications.filter((p) => fieldOf(p, since.field) > since.after);
    const oldest = page.publications[0];
    // Complete when the oldest kept publication is at or before the client's value, or is the stream's first.
    const complete = !oldest || fieldOf(oldest, since.field) <= since.after || oldest.offset === 1;
    if (!historyKept && page.offset > 0) return notRecovered('no_history');
    if (!complete) return notRecovered('history_trimmed', replay, { from: 1, to: oldest.offset - 1 });
    return { result: { recovered: true, replayed: replay.length }, replay, offset: page.offset };
  }

  if ('positions' in since) {
    const position = positionInEpoch(since.positions, page.epoch);
    return position ? planRecovery(position, page, historyKept) : notRecovered('epoch_changed');
  }

  if ('lastId' in since) {
    const i = page.publications.findIndex((p) => p.id === since.lastId);
    if (i < 0) return notRecovered(historyKept ? 'unknown_id' : 'no_history');
    const replay = page.publications.slice(i + 1);
    return { result: { recovered: true, replayed: replay.length }, replay, offset: page.offset };
  }

  if (since.epoch !== page.epoch) return notRecovered('epoch_changed');
  if (since.offset > page.offset) return notRecovered('offset_ahead');
  if (since.offset === page.offset) return { result: { recovered: true, replayed: 0 }, replay: [], offset: page.offset };
  if (!historyKept) return notRecovered('no_history', [], { from: since.offset + 1, to: page.offset });
  const replay = page.publications.filter((p) => p.offset > since.offset);
  const first = replay.length > 0 ? replay[0].offset : page.offset + 1;
  if (first > since.offset + 1) return notRecovered('history_trimmed', replay, { from: since.offset + 1, to: first - 1 });
  return { result: { recovered: true, replayed: replay.length }, replay, offset: page.offset };
}
