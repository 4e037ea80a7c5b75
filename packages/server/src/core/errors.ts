import { CloseCode, ErrorCode, type ErrorBody } from '@herald/protocol';
import { EngineUnavailableError } from '../engine.js';
import type { Logger } from '../logger.js';

/** How one kind of error is told, whatever carries it. */
export interface ErrorKind {
  /** The protocol error code: in error bodies, `reply.error`, `error` frames and events. */
  readonly code: ErrorCode;
  /** The HTTP status when it is answered over HTTP: the API, an SSE stream or an upgrade refused before it starts. */
  readonly status: number;
  /** The WebSocket close code (also SSE's `close` event) when it ends a connection. */
  readonly close: number;
  /** Whether the same request (or a reconnect with the same credentials) can succeed later. */
  readonly retry: boolean;
}

/**
 * Every error Herald reports, with how each transport and the HTTP API tell it. Transports and
 * the API answer from this table only; docs/protocol.md's code tables are tested against it.
 */
export const ERRORS = {
  badRequest: { code: ErrorCode.BadRequest, status: 400, close: CloseCode.BadRequest, retry: false },
  unknownFrame: { code: ErrorCode.UnknownFrame, status: 400, close: CloseCode.BadRequest, retry: false },
  /** A channel name that is not one: for a route's channel, the connection is refused as forbidden. */
  invalidChannel: { code: ErrorCode.InvalidChannel, status: 400, close: CloseCode.Forbidden, retry: false },
  unauthorized: { code: ErrorCode.Unauthorized, status: 401, close: CloseCode.Unauthorized, retry: false },
  forbidden: { code: ErrorCode.Forbidden, status: 403, close: CloseCode.Forbidden, retry: false },
  notFound: { code: ErrorCode.NotFound, status: 404, close: CloseCode.BadRequest, retry: false },
  alreadySubscribed: { code: ErrorCode.AlreadySubscribed, status: 409, close: CloseCode.BadRequest, retry: false },
  notSubscribed: { code: ErrorCode.NotSubscribed, status: 409, close: CloseCode.BadRequest, retry: false },
  /** A per-connection limit: subscriptions, locks. */
  limitExceeded: { code: ErrorCode.LimitExceeded, status: 429, close: CloseCode.TooManyConnections, retry: false },
  /** A channel's `maxSubscribers`. */
  channelFull: { code: ErrorCode.LimitExceeded, status: 429, close: CloseCode.TooManyConnections, retry: true },
  /** `limits.connectionsPerTenant`. */
  tenantFull: { code: ErrorCode.LimitExceeded, status: 503, close: CloseCode.TooManyConnections, retry: true },
  /** A route's `maxConnections`. */
  routeFull: { code: ErrorCode.LimitExceeded, status: 503, close: CloseCode.TooManyConnections, retry: true },
  /** An event's data past a size limit the caller was told (the Pusher API's `maxEventBytes`). */
  tooLarge: { code: ErrorCode.LimitExceeded, status: 413, close: CloseCode.MessageTooBig, retry: false },
  rateLimited: { code: ErrorCode.RateLimited, status: 429, close: CloseCode.RateLimited, retry: true },
  /** The server is shutting down, or the engine cannot answer now: reconnect, maybe elsewhere. */
  unavailable: { code: ErrorCode.Unavailable, status: 503, close: CloseCode.ServiceRestart, retry: true },
  /** A subscription the engine could not set up: the connection stays, or (a route's channel) is closed to retry. */
  subscribeUnavailable: { code: ErrorCode.Unavailable, status: 503, close: CloseCode.InternalError, retry: true },
  internal: { code: ErrorCode.Internal, status: 500, close: CloseCode.InternalError, retry: true },
  /** The backend's publish check (`webhooks.publishProxies`) refused a client publication. */
  publishRefused: { code: ErrorCode.Forbidden, status: 403, close: CloseCode.Forbidden, retry: false },
  /** The backend's publish check did not answer in time or failed, and its `onFailure` is `refuse`. */
  publishUnchecked: { code: ErrorCode.Unavailable, status: 503, close: CloseCode.ServiceRestart, retry: true },
  /** A stream id that is not (or no longer) known, or belongs to another tenant (docs/streams.md). */
  streamNotFound: { code: ErrorCode.NotFound, status: 404, close: CloseCode.BadRequest, retry: false },
  /** A write to a stream that has completed, failed or been cancelled. */
  streamEnded: { code: ErrorCode.StreamEnded, status: 409, close: CloseCode.BadRequest, retry: false },
  /** A chunk past `streams.maxChunkBytes`, or a stream that would pass `streams.maxStreamBytes`. */
  streamTooLarge: { code: ErrorCode.LimitExceeded, status: 413, close: CloseCode.BadRequest, retry: false },
  /** A cancel the channel's rule (`cancel`) does not allow the user. */
  cancelForbidden: { code: ErrorCode.Forbidden, status: 403, close: CloseCode.Forbidden, retry: false },
} as const satisfies Record<string, ErrorKind>;

export type ErrorKindName = keyof typeof ERRORS;

/**
 * Why the server ends a connection when no request failed: each with its close code, a default
 * reason and whether reconnecting helps. With ERRORS, the close codes a client can see.
 */
export const DISCONNECTS = {
  shutdown: { close: CloseCode.ServiceRestart, reason: 'server shutting down', retry: true },
  tokenExpired: { close: CloseCode.TokenExpired, reason: 'token expired; refresh it before it expires', retry: true },
  authTimeout: { close: CloseCode.AuthTimeout, reason: 'no token in time', retry: true },
  replaced: { close: CloseCode.ConnectionReplaced, reason: 'replaced by a new connection of the same client', retry: true },
  slowConsumer: { close: CloseCode.SlowConsumer, reason: 'slow consumer: send queue full', retry: true },
  byOperator: { close: CloseCode.DisconnectedByServer, reason: 'disconnected by the server', retry: false },
  heartbeatTimeout: { close: CloseCode.HeartbeatTimeout, reason: 'no pong within the heartbeat timeout', retry: true },
} as const;

/** An error a client or API caller can act on: its kind says how every transport tells it. */
export class HeraldError extends Error {
  override name = 'HeraldError';
  readonly kind: ErrorKind;

  constructor(kind: ErrorKindName | ErrorKind, message: string, readonly field?: string) {
    super(message);
    this.kind = typeof kind === 'string' ? ERRORS[kind] : kind;
  }

  get code(): ErrorCode {
    return this.kind.code;
  }

  toBody(): ErrorBody {
    return { code: this.kind.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}

export const badRequest = (message: string, field?: string) => new HeraldError('badRequest', message, field);
export const forbidden = (message: string) => new HeraldError('forbidden', message);
export const limitExceeded = (message: string) => new HeraldError('limitExceeded', message);
export const unavailable = (message: string) => new HeraldError('unavailable', message);
export const internal = (message: string) => new HeraldError('internal', message);

/**
 * Any failure as the HeraldError a client may see: its own when it is one; an engine that
 * cannot answer now is `unavailable` (as `fallback` says); anything else is `internal`, and only
 * the log learns what it was.
 */
export function toHeraldError(
  err: unknown,
  logger: Logger,
  context: string,
  says: { unavailable: string; kind?: ErrorKindName; internal?: string } = { unavailable: 'service unavailable, try again' },
): HeraldError {
  if (err instanceof HeraldError) return err;
  if (err instanceof EngineUnavailableError) {
    logger.warn({ err }, `${context}: engine unavailable`);
    return new HeraldError(says.kind ?? 'unavailable', says.unavailable);
  }
  logger.error({ err }, `${context} failed`);
  return internal(says.internal ?? `${context} failed: internal error`);
}
