import { CloseCode, ErrorCode, type ErrorBody } from '@herald/protocol';
import { HubError } from '../core/errors.js';
import type { Logger } from '../logger.js';

/** How a transport ends a connection it cannot serve: the close code, and what the client is told. */
export interface Refusal {
  code: number;
  error: ErrorBody;
}

const SERVICE_UNAVAILABLE: ErrorBody = { code: ErrorCode.Unavailable, message: 'service unavailable, reconnect' };

/**
 * A session that could not be opened (Hub.openSession threw): a full tenant is 4008 with its
 * message; anything else (an engine that failed, a shutdown) is 1012, worth a reconnect, as on
 * WebSocket. Only HubError messages reach the client; the rest goes to the log.
 */
export function sessionRefusal(err: unknown, logger: Logger, transport: string): Refusal {
  if (err instanceof HubError && err.code === ErrorCode.LimitExceeded) return { code: CloseCode.TooManyConnections, error: err.toBody() };
  if (err instanceof HubError && err.code === ErrorCode.Unavailable) return { code: CloseCode.ServiceRestart, error: err.toBody() };
  logger.warn({ err, transport }, 'session not opened');
  return { code: CloseCode.ServiceRestart, error: SERVICE_UNAVAILABLE };
}

/**
 * A channel the connection was opened for that could not be subscribed: a refusal by the rules
 * is terminal (4003), a full channel is 4008, an engine failure is 1011 and worth a retry.
 */
export function subscribeRefusal(err: unknown, logger: Logger, transport: string): Refusal {
  if (!(err instanceof HubError)) {
    logger.warn({ err, transport }, 'subscribe failed');
    return { code: CloseCode.InternalError, error: SERVICE_UNAVAILABLE };
  }
  if (err.code === ErrorCode.Unavailable || err.code === ErrorCode.Internal) return { code: CloseCode.InternalError, error: err.toBody() };
  return { code: err.code === ErrorCode.LimitExceeded ? CloseCode.TooManyConnections : CloseCode.Forbidden, error: err.toBody() };
}
