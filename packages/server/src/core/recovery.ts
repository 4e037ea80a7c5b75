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

/** The offset of the last publication at or before a client's position, found by `atOrBefore`; 0 when none. */
function lastOffsetWhere(page: HistoryPage, atOrBefore: (p: StoredPublication) => boolean): number {
  let offset = 0;
  for (const p of page.publications) if (atOrBefore(p)) offset = p.offset;
  return offset;
}

/**
 * A plan that would replay across entries the engine could not read (after `position`) becomes
 * a reported gap: `history_trimmed` with `missing` spanning every offset lost. What could be read
 * is still replayed.
 */
function reportUnreadable(plan: RecoveryPlan, page: HistoryPage, position: number): RecoveryPlan {
  const lost = (page.unreadable ?? []).filter((o) => o > position);
  if (lost.length === 0) return plan;
  const earlier = plan.result.missing;
  const missing = { from: Math.min(...lost, earlier?.from ?? Infinity), to: Math.max(...lost, earlier?.to ?? -Infinity) };
  return { ...plan, result: { recovered: false, reason: 'history_trimmed', replayed: plan.replay.length, missing } };
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
    const position = lastOffsetWhere(page, (p) => fieldOf(p, since.field) <= since.after);
    if (!complete) return reportUnreadable(notRecovered('history_trimmed', replay, { from: 1, to: oldest.offset - 1 }), page, position);
    return reportUnreadable({ result: { recovered: true, replayed: replay.length }, replay, offset: page.offset }, page, position);
  }

  if ('positions' in since) {
    const position = positionInEpoch(since.positions, page.epoch);
    return position ? planRecovery(position, page, historyKept) : notRecovered('epoch_changed');
  }

  if ('lastId' in since) {
    const i = page.publications.findIndex((p) => p.id === since.lastId);
    if (i < 0) return notRecovered(historyKept ? 'unknown_id' : 'no_history');
    const replay = page.publications.slice(i + 1);
    return reportUnreadable({ result: { recovered: true, replayed: replay.length }, replay, offset: page.offset }, page, page.publications[i].offset);
  }

  if (since.epoch !== page.epoch) return notRecovered('epoch_changed');
  if (since.offset > page.offset) return notRecovered('offset_ahead');
  if (since.offset === page.offset) return { result: { recovered: true, replayed: 0 }, replay: [], offset: page.offset };
  if (!historyKept) return notRecovered('no_history', [], { from: since.offset + 1, to: page.offset });
  const replay = page.publications.filter((p) => p.offset > since.offset);
  const first = replay.length > 0 ? replay[0].offset : page.offset + 1;
  if (first > since.offset + 1) return reportUnreadable(notRecovered('history_trimmed', replay, { from: since.offset + 1, to: first - 1 }), page, since.offset);
  return reportUnreadable({ result: { recovered: true, replayed: replay.length }, replay, offset: page.offset }, page, since.offset);
}
