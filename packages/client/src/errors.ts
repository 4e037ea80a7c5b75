import type { ErrorBody, ErrorCode } from '@herald/protocol';

/**
 * Why a client operation failed: a server error code, or one of the client's own:
 * `disconnected` (the link went down before an answer), `timeout` (no answer in time),
 * `evicted` (dropped from a full outbox), `closed` (the client was closed).
 */
export type ClientErrorCode = ErrorCode | 'disconnected' | 'timeout' | 'evicted' | 'closed';

export class HeraldError extends Error {
  override readonly name = 'HeraldError';

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** For validation errors: the offending field. */
    readonly field?: string,
  ) {
    super(message);
  }

  static fromBody(body: ErrorBody): HeraldError {
    return new HeraldError(body.code, body.message, body.field);
  }
}

/** Whether the operation may have failed only because the link dropped (its outcome is unknown, not refused). */
export function isDisconnect(err: unknown): boolean {
  return err instanceof HeraldError && (err.code === 'disconnected' || err.code === 'closed');
}
