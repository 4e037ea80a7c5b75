import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { STREAM_KINDS } from '../core/stream-messages.js';
import { MAX_STREAM_CHANNELS } from '../core/streams.js';
import { callerTenant, tenantScope } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { channelName, tenantName } from './schemas.js';
import { sendStreamFailure, streamUpload } from './stream-upload.js';
import { parseOr400 } from './validation.js';

const message = z.record(z.string(), z.unknown()).meta({ description: 'A message as viewers get it, e.g. `{"type":"token","content":"Hel"}`: a JSON object, published under its `type` as event.' });

const openBody = z
  .strictObject({
    channel: channelName.optional(),
    channels: z.array(channelName).min(1).max(MAX_STREAM_CHANNELS).optional().meta({ description: 'Several channels (one tenant): every message goes to each.' }),
    kind: z.enum(Object.keys(STREAM_KINDS) as [keyof typeof STREAM_KINDS]).meta({ description: '`tokens`: chunks carry `content`, joined as they are; `lines`: chunks carry `line`, joined with newlines.' }),
    tenant: tenantName.optional(),
    start: message.optional().meta({ description: 'Published at once and given to every joiner first, e.g. `{"type":"iteration_start","proposal_id":7}`.' }),
    cancelled: message.optional().meta({ description: 'Published when a viewer cancels; default `{"type":"stream_cancelled"}`.' }),
    failed: message.optional().meta({ description: 'Published when the stream ends on its idle timeout, its `error` set to the reason; default `{"type":"stream_failed","error":...}`.' }),
  })
  .refine((b) => (b.channel === undefined) !== (b.channels === undefined), { message: 'give exactly one of channel or channels', path: ['channel'] });

const chunksBody = z.strictObject({ chunks: z.array(z.unknown()).min(1).max(1000).meta({ description: 'Messages in order, each with the kind\'s text field (`content` or `line`).' }) });
const cancelBody = z.strictObject({ channel: channelName, streamId: z.string().min(1).max(64).optional() });
const streamParams = z.object({ id: z.string().min(1).max(64).meta({ description: 'The id `POST /api/v1/streams` answered.' }) });
const tokenQuery = z.object({ token: z.string().optional().meta({ description: 'The viewer\'s JWT, when it cannot be sent as `Authorization: Bearer`.' }) });

const opened = z.object({ id: z.string(), offsets: z.record(z.string(), z.number().int()) });
const appended = z.object({ bytes: z.number().int().meta({ description: 'The stream\'s coalesced text so far, in bytes.' }) });
const ended = z.object({ state: z.enum(['completed', 'failed', 'cancelled']) });
const endedError = z.object({
  error: z.object({ code: z.literal('stream_ended'), message: z.string() }),
  state: z.enum(['completed', 'failed', 'cancelled']).meta({ description: 'How the stream ended.' }),
});
const notFound = { description: 'No such stream (or another tenant\'s, or forgotten after `streams.retention`).', schema: errors(404)[404].schema };
const conflict = { 409: { description: 'The stream has ended (`stream_ended`): completed, failed or cancelled by a viewer.', schema: endedError } };
const tooLarge = { 413: { description: 'A chunk past `streams.maxChunkBytes`, or the stream would pass `streams.maxStreamBytes`.', schema: errors(413)[413].schema } };

export const streamOpenRoute = {
  method: 'POST',
  url: '/api/v1/streams',
  operationId: 'streamOpen',
  tag: 'publish',
  summary: 'Open a token or line stream on a channel',
  description: 'See docs/streams.md. Answers the stream id and the offsets its start message got.',
  auth: 'apiKey',
  body: openBody,
  responses: { 200: { description: 'Opened.', schema: opened }, ...errors(400, 401, 403, 413, 415, 503) },
} satisfies RouteDoc;

export const streamChunksRoute = {
  method: 'POST',
  url: '/api/v1/streams/:id/chunks',
  operationId: 'streamChunks',
  tag: 'publish',
  summary: 'Append chunks to a stream',
  auth: 'apiKey',
  params: streamParams,
  body: chunksBody,
  responses: { 200: { description: 'Appended and published, in order.', schema: appended }, ...errors(400, 401), 404: notFound, ...conflict, ...tooLarge, ...errors(503) },
} satisfies RouteDoc;

export const streamUploadRoute = {
  method: 'POST',
  url: '/api/v1/streams/:id/upload',
  operationId: 'streamUpload',
  tag: 'publish',
  summary: 'Append a long-lived upload, one chunk per line',
  description:
    'The body is `application/x-ndjson` (one message per line) or `text/plain` (each line the text of one chunk: `{"type":"output","line":...,"stream":...}` for a lines stream, with `?stream=stdout|stderr`; `{"type":"token","content":...}` for tokens). The answer comes when the body ends (`status: open`) or the stream ends first, e.g. cancelled by a viewer (`status: cancelled`): then the rest of the body is not read.',
  auth: 'apiKey',
  params: streamParams,
  query: z.object({ stream: z.enum(['stdout', 'stderr']).optional().meta({ description: 'For a `text/plain` upload to a lines stream.' }) }),
  responses: {
    200: { description: 'The upload\'s outcome.', schema: z.object({ status: z.enum(['open', 'completed', 'failed', 'cancelled']), chunks: z.number().int().meta({ description: 'Chunks this upload appended.' }) }) },
    ...errors(400, 401),
    404: notFound,
    ...conflict,
    ...tooLarge,
    ...errors(415, 503),
  },
} satisfies RouteDoc;

const endRoute = (state: 'complete' | 'fail', example: string) =>
  ({
    method: 'POST',
    url: `/api/v1/streams/:id/${state}`,
    operationId: state === 'complete' ? 'streamComplete' : 'streamFail',
    tag: 'publish',
    summary: state === 'complete' ? 'Complete a stream with its last message' : 'End a stream as failed with its last message',
    description: `The body, when given, is the last message, e.g. \`${example}\`.`,
    auth: 'apiKey',
    params: streamParams,
    body: message,
    optionalBody: true,
    responses: { 200: { description: 'Ended.', schema: ended }, ...errors(400, 401), 404: notFound, ...conflict, ...tooLarge, ...errors(503) },
  }) satisfies RouteDoc;

export const streamCompleteRoute = endRoute('complete', '{"type":"validation_complete","status":"passed","summary":{}}');
export const streamFailRoute = endRoute('fail', '{"type":"validation_error","error":"validator crashed"}');

export const streamCancelRoute = {
  method: 'POST',
  url: '/api/v1/streams/cancel',
  operationId: 'streamCancel',
  tag: 'publish',
  summary: "Cancel a channel's open streams as a viewer (for SSE viewers)",
  description: "With the viewer's JWT, where the channel's rule `cancel` allows the user. Answers the ids cancelled (none when nothing was open).",
  auth: 'clientToken',
  query: tokenQuery,
  body: cancelBody,
  responses: {
    200: { description: 'Cancelled.', schema: z.object({ cancelled: z.array(z.string()) }) },
    ...errors(400, 401),
    403: { description: 'The channel\'s rule does not let this user cancel.', schema: errors(403)[403].schema },
    404: notFound,
    ...conflict,
    ...errors(503),
  },
} satisfies RouteDoc;

export const streamRouteDocs: readonly RouteDoc[] = [streamOpenRoute, streamCancelRoute, streamChunksRoute, streamUploadRoute, streamCompleteRoute, streamFailRoute];


function viewerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const query = (request.query as { token?: unknown }).token;
  return typeof query === 'string' && query.length > 0 ? query : undefined;
}

/** `/api/v1/streams`: open, chunks, upload, complete, fail (API key) and cancel (viewer JWT). */
export function streamRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, streamOpenRoute, async (request, reply) => {
    const body = parseOr400(openBody, request.body, reply);
    if (!body) return reply;
    try {
      const tenant = callerTenant(request, node.config, body.tenant);
      return await node.streams.open(tenant, { channels: body.channels ?? [body.channel!], kind: body.kind, start: body.start, cancelled: body.cancelled, failed: body.failed });
    } catch (err) {
      return sendStreamFailure(err, reply, node);
    }
  });

  addRoute(app, node.config, streamChunksRoute, async (request, reply) => {
    const params = parseOr400(streamParams, request.params, reply);
    const body = params && parseOr400(chunksBody, request.body, reply);
    if (!params || !body) return reply;
    try {
      return await node.streams.append(tenantScope(request, undefined), params.id, body.chunks);
    } catch (err) {
      return sendStreamFailure(err, reply, node);
    }
  });

  for (const [doc, state] of [[streamCompleteRoute, 'completed'], [streamFailRoute, 'failed']] as const) {
    addRoute(app, node.config, doc, async (request, reply) => {
      const params = parseOr400(streamParams, request.params, reply);
      if (!params) return reply;
      const body = request.body === undefined ? undefined : parseOr400(message, request.body, reply);
      if (request.body !== undefined && !body) return reply;
      try {
        return await node.streams.end(tenantScope(request, undefined), params.id, state, body);
      } catch (err) {
        return sendStreamFailure(err, reply, node);
      }
    });
  }

  addRoute(app, node.config, streamCancelRoute, async (request, reply) => {
    const token = viewerToken(request);
    if (!token) return reply.code(401).send({ error: new HeraldError('unauthorized', 'missing token (Authorization: Bearer <JWT> or ?token=)').toBody() });
    const body = parseOr400(cancelBody, request.body, reply);
    if (!body) return reply;
    try {
      const identity = await node.verify(token);
      return { cancelled: await node.streams.cancel(identity, body.channel, body.streamId) };
    } catch (err) {
      return sendStreamFailure(err, reply, node);
    }
  });

  // The upload reads its own body: its parser hands the request stream over untouched, in this scope only.
  void app.register(async (scope) => {
    scope.addContentTypeParser(['application/x-ndjson', 'text/plain'], (_request, _payload, done) => done(null, undefined));
    addRoute(scope, node.config, streamUploadRoute, (request, reply) => streamUpload(node, request, reply));
  });
}
