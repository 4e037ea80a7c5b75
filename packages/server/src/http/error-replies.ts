import { ErrorCode, type ErrorBody } from '@herald/protocol';
import { HeraldError } from '../core/errors.js';
import type { Logger } from '../logger.js';
import { failureBody, heraldErrorStatus } from './validation.js';

interface ErrorReply {
  status: number;
  error: ErrorBody;
}

/**
 * Fastify's own request errors, by their code, told in Herald's words: the library's codes
 * (`FST_ERR_*`) and messages are no part of the API.
 */
function frameworkReply(code: string | undefined, bodyLimit: number): ErrorReply | undefined {
  const body = (status: number, message: string): ErrorReply => ({ status, error: { code: ErrorCode.BadRequest, message, field: 'body' } });
  switch (code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return body(400, 'body: not valid JSON (keys __proto__ and constructor.prototype are refused too)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return body(400, 'body: empty; send a JSON object, or no Content-Type');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return body(413, `body: larger than ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return body(415, 'body: Content-Type must be application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return body(400, 'body: its length does not match Content-Length');
    case 'FST_ERR_BAD_URL':
      return { status: 400, error: { code: ErrorCode.BadRequest, message: 'the URL path is not valid percent-encoded UTF-8', field: 'path' } };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, error: { code: ErrorCode.BadRequest, message: 'a URL path segment is too long', field: 'path' } };
    default:
      return undefined;
  }
}

const GENERIC_MESSAGES: Partial<Record<number, string>> = {
  400: 'bad request',
  404: 'not found',
  405: 'method not allowed',
  406: 'not acceptable',
  408: 'request timeout',
  413: 'body too large',
  414: 'URL too long',
  415: 'unsupported media type',
};

/**
 * The `{ error }` answer to an error that reached fastify's error handler (or its framework
 * errors hook): a HeraldError's own body; fastify's request errors in Herald's words; any other
 * client error with a generic message for its status; anything else 500 `internal`. Only what
 * is written for the caller leaves the server; the error itself goes to the log.
 */
export function errorReply(error: unknown, logger: Logger, bodyLimit: number): ErrorReply {
  if (error instanceof HeraldError) return { status: heraldErrorStatus(error), error: error.toBody() };
  const { statusCode, code } = (error ?? {}) as { statusCode?: unknown; code?: unknown };
  const known = frameworkReply(typeof code === 'string' ? code : undefined, bodyLimit);
  if (known) return known;
  const status = typeof statusCode === 'number' && statusCode >= 400 && statusCode < 600 ? statusCode : 500;
  if (status >= 500) return failureBody(error, logger);
  logger.warn({ err: error }, 'http request refused');
  return { status, error: { code: status === 404 ? ErrorCode.NotFound : ErrorCode.BadRequest, message: GENERIC_MESSAGES[status] ?? 'bad request' } };
}
