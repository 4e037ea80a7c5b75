/** Who, inside a channel, receives a publication. Absent fields do not narrow. */
export interface Audience {
  /** Deliver only to connections holding at least one of these roles. */
  roles?: string[];
  /** Deliver only to these user ids. */
  users?: string[];
  /** Connections that do not receive it: the one whose action caused it, which has it already. */
  exceptConnections?: string[];
}

/**
 * Who published a client's publication, stamped by the gateway from the publisher's verified
 * token: no client can set it. Absent on publications from the HTTP API (the backend).
 */
export interface Publisher {
  userId: string;
  /** Display info from the token (name, avatar …), as mapped by `auth.claims.info`. */
  info?: Record<string, unknown>;
}

/**
 * One event in a channel's stream.
 *
 * `id` is unique and sortable (a ULID); a publication sent to several channels at once keeps
 * one id, so clients may deduplicate by it. `offset` increases by one per channel publication
 * inside an `epoch`; a new epoch means the stream was reset and offsets start over.
 */
export interface Publication<D = unknown> {
  id: string;
  channel: string;
  event: string;
  data: D;
  offset: number;
  epoch: string;
  /** Milliseconds since the Unix epoch, set by the gateway. */
  ts: number;
  /** Set on publications a client made (see Publisher); absent on the backend's. */
  publisher?: Publisher;
}

/**
 * The data as formats that send only the data carry it (Socket.IO events, `data` routes, SSE
 * without envelope): a client publication's object data gets the gateway's `publisher` stamp,
 * in place of any `publisher` the client wrote. Other data is sent as it is.
 */
export function dataWithPublisher(pub: Pick<Publication, 'data' | 'publisher'>): unknown {
  const data = pub.data;
  if (!pub.publisher || data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  return { ...data, publisher: pub.publisher };
}

/** Where a subscriber stopped, as given back on resubscribe. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** What a client that comes back says about where it stopped: a stream position or a last id. */
export type RecoverySince = StreamPosition | { lastId: string };

/** Why a resubscribe could not replay everything that was missed. */
export type NotRecoveredReason =
  /** The stream was reset (history expired, server restarted, Redis flushed): offsets mean nothing now. */
  | 'epoch_changed'
  /** Part of what was missed is no longer in the history: older than the channel keeps, or an entry the server could not read. */
  | 'history_trimmed'
  /** The channel keeps no history. */
  | 'no_history'
  /** The given last id is not (or no longer) in the history. */
  | 'unknown_id'
  /** The given offset is ahead of the stream: the client's position is not from this stream. */
  | 'offset_ahead';

/** The answer to a subscribe with recovery. When `recovered` is false, `reason` and usually `missing` say why. */
export interface RecoveryResult {
  recovered: boolean;
  reason?: NotRecoveredReason;
  /** Offsets that were missed and cannot be replayed, inclusive. */
  missing?: { from: number; to: number };
  /** How many missed publications follow the reply. */
  replayed: number;
}
