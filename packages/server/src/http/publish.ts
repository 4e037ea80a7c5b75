import { MAX_EVENT_LENGTH, type ErrorBody } from '@herald/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Node } from '../core/node.js';
import type { PublishOutcome, PublishRequest } from '../core/publishing.js';
import { callerTenant, tenantScope } from './api-auth.js';
import { MAX_IDEMPOTENCY_KEY, simplePublishBody, type SimplePublishBody } from './publish-body.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { audience, channelName, tenantName } from './schemas.js';
import { failureBody, issueBody, parseOr400, sendFailure } from './validation.js';

const MAX_CHANNELS = 100;
const MAX_BATCH = 1000;
/** What fastify sends a serialised object as. */
const JSON_TYPE = 'application/json; charset=utf-8';

const bodyToken = z.string().optional().meta({ description: 'The API key, for callers that cannot set `Authorization` (seed 001 sends its webhook token here).' });

const publishFields = {
  channel: channelName.optional(),
  channels: z.array(channelName).min(1).max(MAX_CHANNELS).optional().meta({ description: 'Several channels at once: one publication id, an offset each.' }),
  event: z.string().min(1).max(MAX_EVENT_LENGTH),
  data: z.unknown().optional(),
  tenant: tenantName.optional(),
  audience: audience.optional(),
  idempotencyKey: z
    .string()
    .min(1)
    .max(MAX_IDEMPOTENCY_KEY)
    .optional()
    .meta({ description: 'A retry with the same key (per tenant and channel, within `api.idempotencyTtl`) returns the first id with `duplicate: true` and is not delivered again.' }),
};

const hasOneOfChannels = (b: { channel?: string; channels?: string[] }) => (b.channel === undefined) !== (b.channels === undefined);
const oneOfChannelsIssue = { message: 'give exactly one of channel or channels', path: ['channel'] };

/** One item of a batch: a publish without the key. */
export const batchItem = z
  .strictObject(publishFields)
  .refine(hasOneOfChannels, oneOfChannelsIssue)
  .meta({ description: 'Exactly one of `channel` or `channels`.' });

export const publishBody = z
  .strictObject({ ...publishFields, token: bodyToken })
  .refine(hasOneOfChannels, oneOfChannelsIssue)
  .meta({ description: 'Exactly one of `channel` or `channels`.' });

export const batchBody = z.strictObject({
  publications: z.array(batchItem).min(1).max(MAX_BATCH).meta({ description: 'Published in order. An item that fails gets an `error` result; the others are still published.' }),
  tenant: tenantName.optional().meta({ description: 'Default tenant of the items.' }),
  token: bodyToken,
});

// Items are checked one by one, so that one bad item does not reject its neighbours.
const batchEnvelope = batchBody.extend({ publications: z.array(z.unknown()).min(1).max(MAX_BATCH) });

const publishResult = z.union([
  z.object({ id: z.string(), offset: z.number().int(), duplicate: z.boolean() }),
  z.object({ id: z.string(), offsets: z.record(z.string(), z.number().int()), duplicate: z.boolean() }),
]);

const itemError = z.object({ error: z.object({ code: z.string(), message: z.string(), field: z.string().optional().meta({ description: 'Relative to the item.' }) }) });
const batchResult = z.object({ results: z.array(z.union([publishResult, itemError])).meta({ description: 'One result per item, in the same order.' }) });

export const publishRoute = {
  method: 'POST',
  url: '/api/v1/publish',
  operationId: 'publish',
  tag: 'publish',
  summary: 'Publish an event to one or more channels of a tenant',
  description: 'Answers once the publication is stored. With `channel` the result has `offset`; with `channels`, `offsets` by channel.',
  auth: 'apiKey',
  body: publishBody,
  responses: { 200: { description: 'Published (or a duplicate of an earlier publish).', schema: publishResult }, ...errors(400, 401, 403, 413, 415, 500, 503) },
} satisfies RouteDoc;

export const batchRoute = {
  method: 'POST',
  url: '/api/v1/publish/batch',
  operationId: 'publishBatch',
  tag: 'publish',
  summary: 'Publish many events in one request',
  auth: 'apiKey',
  body: batchBody,
  responses: { 200: { description: 'Per-item results.', schema: batchResult }, ...errors(400, 401, 403, 413, 415) },
} satisfies RouteDoc;

type Item = z.infer<typeof batchItem> | SimplePublishBody;

function requestOf(item: Item): PublishRequest {
  return { channels: item.channels ?? [item.channel!], event: item.event, data: item.data, audience: item.audience, idempotencyKey: item.idempotencyKey };
}

/** The API's result for a publish: `offset` for one `channel`, `offsets` for `channels`. */
function resultOf(item: Item, outcome: PublishOutcome) {
  return item.channel !== undefined
    ? { id: outcome.id, offset: outcome.offsets[item.channel], duplicate: outcome.duplicate }
    : { id: outcome.id, offsets: outcome.offsets, duplicate: outcome.duplicate };
}

type ItemError = { error: ReturnType<typeof issueBody> | ErrorBody };

/** An item parsed with the tenant it acts on, or the error that refused it. */
function batchEntry(node: Node, request: FastifyRequest, defaultTenant: string | undefined, raw: unknown): { item: Item; tenant: string } | ItemError {
  let item: Item | undefined = simplePublishBody(raw, false);
  if (!item) {
    const parsed = batchItem.safeParse(raw);
    if (!parsed.success) return { error: issueBody(parsed.error) };
    item = parsed.data;
  }
  try {
    return { item, tenant: callerTenant(request, node.config, item.tenant ?? defaultTenant) };
  } catch (err) {
    return { error: failureBody(err, node.logger).error };
  }
}

/** `POST /api/v1/publish` and `POST /api/v1/publish/batch`. */
export function publishRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, publishRoute, async (request, reply) => {
    // The common body is checked without zod; anything else (and every error) goes through the schema.
    const body = simplePublishBody(request.body, true) ?? parseOr400(publishBody, request.body, reply);
    if (!body) return reply;
    const tenant = callerTenant(request, node.config, body.tenant);
    try {
      const outcome = await node.publish(tenant, requestOf(body), 'api');
      const offset = body.channel === undefined ? undefined : outcome.offsets[body.channel];
      if (typeof offset !== 'number') return resultOf(body, outcome);
      // The common answer written out directly: the same JSON as serialising resultOf's object.
      return reply.type(JSON_TYPE).send(`{"id":${JSON.stringify(outcome.id)},"offset":${offset},"duplicate":${outcome.duplicate}}`);
    } catch (err) {
      return sendFailure(err, reply, node.logger);
    }
  });

  addRoute(app, node.config, batchRoute, async (request, reply) => {
    const body = parseOr400(batchEnvelope, request.body, reply);
    if (!body) return reply;
    // Checked once up front: a tenant-bound key naming another tenant is refused as a whole.
    tenantScope(request, body.tenant);
    const entries = body.publications.map((raw) => batchEntry(node, request, body.tenant, raw));
    const accepted = entries.filter((e): e is { item: Item; tenant: string } => 'item' in e);
    // One engine call for every accepted item, in item order: items of one channel are stored in that order.
    const outcomes = await node.publishMany(accepted.map(({ tenant, item }) => ({ tenant, request: requestOf(item) })), 'api');
    let next = 0;
    const results = entries.map((entry) => {
      if (!('item' in entry)) return entry;
      const outcome = outcomes[next++];
      return 'error' in outcome ? { error: failureBody(outcome.error, node.logger).error } : resultOf(entry.item, outcome);
    });
    return { results };
  });
}
