/**
 * WebSocket close codes Herald uses. 1xxx are the standard ones; 4xxx are Herald's own.
 * A client should reconnect after any code except those listed in `TERMINAL_CLOSE_CODES`.
 */
export const CloseCode = {
  Normal: 1000,
  /** The message was larger than `limits.maxMessageBytes`. */
  MessageTooBig: 1009,
  InternalError: 1011,
  /** The server is restarting or shutting down: reconnect, possibly to another node. */
  ServiceRestart: 1012,
  /** A frame was not valid JSON or not a valid Herald frame. */
  BadRequest: 4000,
  /** Missing, invalid or expired token at connect. */
  Unauthorized: 4001,
  /** The token expired during the connection and was not refreshed in time. */
  TokenExpired: 4002,
  /** The connection is not allowed what it asked for (e.g. a route's channel). */
  Forbidden: 4003,
  /** No `connect` frame with a token arrived within `auth.connectTimeout`. */
  AuthTimeout: 4004,
  /** The user opened more than `limits.connectionsPerUser` connections; this, the oldest, was closed. */
  ConnectionReplaced: 4005,
  /** The client read too slowly and its send queue passed `limits.sendQueueBytes`. */
  SlowConsumer: 4006,
  /** The client sent frames faster than `limits.messageRate`. */
  RateLimited: 4007,
  /** A tenant or route connection limit was reached. */
  TooManyConnections: 4008,
  /** Disconnected by an operator through the HTTP API. */
  DisconnectedByServer: 4009,
  /** No pong arrived within `heartbeat.timeout` of a ping. */
  HeartbeatTimeout: 4010,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which reconnecting with the same credentials will fail the same way. */
export const TERMINAL_CLOSE_CODES: readonly number[] = [
  CloseCode.Unauthorized,
  CloseCode.Forbidden,
  CloseCode.DisconnectedByServer,
];

/** Error codes carried in `reply.error.code` and `error.code` frames, and in HTTP error bodies. */
export const ErrorCode = {
  BadRequest: 'bad_request',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  UnknownFrame: 'unknown_frame',
  InvalidChannel: 'invalid_channel',
  AlreadySubscribed: 'already_subscribed',
  NotSubscribed: 'not_subscribed',
  LimitExceeded: 'limit_exceeded',
  RateLimited: 'rate_limited',
  Unavailable: 'unavailable',
  Internal: 'internal',
  /** A write to a stream that has ended (completed, failed or cancelled). */
  StreamEnded: 'stream_ended',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** For validation errors: the path of the offending field, e.g. `channels.2`. */
  field?: string;
}
