import { ErrorCode, type ErrorBody } from '@herald/protocol';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { HeraldError, toHeraldError } from '../core/errors.js';
import type { Logger } from '../logger.js';

/** The `{ code, message, field }` error for the first issue of a failed parse. */
export function issueBody(error: z.ZodError): { code: ErrorCode; message: string; field: string } {
  const issue = error.issues[0];
  // An unknown key is named itself, not its parent object.
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  const field = path.join('.') || 'body';
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown field(s) ${issue.keys.join(', ')}${issue.path.length > 0 ? ` in ${issue.path.join('.')}` : ''}`
      : `${field}: ${issue.message}`;
  return { code: ErrorCode.BadRequest, message, field };
}

/** Parses a request part with zod; on failure answers 400 naming the first bad field and returns undefined. */
export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, reply: FastifyReply): z.infer<T> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  void reply.code(400).send({ error: issueBody(result.error) });
  return undefined;
}

/** The HTTP status of a HeraldError: its kind's, from the one error table (core/errors.ts). */
export function heraldErrorStatus(err: HeraldError): number {
  return err.kind.status;
}

/** Answers a HeraldError with its HTTP status and body; rethrows anything else. */
export function sendHeraldError(err: unknown, reply: FastifyReply): FastifyReply {
  if (err instanceof HeraldError) return reply.code(heraldErrorStatus(err)).send({ error: err.toBody() });
  throw err;
}

/**
 * The `{ code, message, field? }` a caller gets for a failure: a HeraldError's own; for an engine
 * that cannot answer now, `unavailable` (503); for anything else, `internal` (500). Only the
 * HeraldError's message reaches the caller; the rest goes to the log.
 */
export function failureBody(err: unknown, logger: Logger): { status: number; error: ErrorBody } {
  const failure = toHeraldError(err, logger, 'request', { unavailable: 'engine unavailable, try again', internal: 'internal error' });
  return { status: failure.kind.status, error: failure.toBody() };
}

/** Answers a failure as failureBody says. */
export function sendFailure(err: unknown, reply: FastifyReply, logger: Logger): FastifyReply {
  const { status, error } = failureBody(err, logger);
  return reply.code(status).send({ error });
}
