import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Node, NodeStats } from '../core/node.js';
import type { OpenStreamListing } from '../core/open-streams.js';
import { STREAM_KINDS } from '../core/stream-messages.js';
import { channelKey } from '../engine.js';
import { tenantScope } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { tenantName } from './schemas.js';
import { sendStreamFailure } from './stream-upload.js';
import { parseOr400 } from './validation.js';

/** How long the cluster-wide list waits for the nodes' answers. */
const CLUSTER_TIMEOUT_MS = 1000;
/** Streams in one answer at most, the oldest first. */
const MAX_ROWS = 200;

const streamRow = z.object({
  id: z.string(),
  tenant: z.string(),
  channels: z.array(z.string()),
  kind: z.enum(Object.keys(STREAM_KINDS) as [keyof typeof STREAM_KINDS]),
  state: z.literal('open'),
  bytes: z.number().int().meta({ description: 'Its coalesced text so far, in bytes.' }),
  openedAt: z.number().int().meta({ description: 'ms since epoch.' }),
  node: z.string().meta({ description: 'The node that opened it.' }),
  viewers: z.number().int().meta({ description: 'Subscribers of its channels on every node that answered (a subscriber of two of its channels counts twice).' }),
});

const listQuery = z.strictObject({ tenant: tenantName.optional().meta({ description: "Only this tenant's. A tenant-bound caller sees only its own; without either, every tenant." }) });
const cancelParams = z.object({ id: z.string().min(1).max(64).meta({ description: 'The stream id.' }) });

export const streamListRoute = {
  method: 'GET',
  url: '/api/v1/streams',
  operationId: 'listStreams',
  tag: 'channels',
  summary: 'Open streams on every node, with their channels, size and viewers',
  description: 'Each node lists the streams opened through it that have not ended; their state and size are read from the engine.',
  auth: 'apiKey',
  query: listQuery,
  responses: {
    200: {
      description: 'Oldest first.',
      schema: z.object({
        nodes: z.number().int().meta({ description: 'Nodes listening when the question went out.' }),
        answered: z.number().int().meta({ description: "Nodes that answered within a second; a slower node's streams are missing." }),
        truncated: z.boolean().meta({ description: `True when more than ${MAX_ROWS} streams were open and only the oldest ${MAX_ROWS} are listed.` }),
        streams: z.array(streamRow),
      }),
    },
    ...errors(400, 401, 403, 503),
  },
} satisfies RouteDoc;

export const streamAdminCancelRoute = {
  method: 'POST',
  url: '/api/v1/streams/:id/cancel',
  operationId: 'streamAdminCancel',
  tag: 'channels',
  summary: 'Cancel a stream as an admin',
  description:
    "With an API key or a console session, whatever the channel's `cancel` rule: the stream ends as cancelled as a viewer's cancel ends it (viewers get its cancelled message, its upload answers `cancelled`), and the `stream` event names the key or console user as the one who cancelled.",
  auth: 'apiKey',
  params: cancelParams,
  responses: {
    200: { description: 'Cancelled.', schema: z.object({ state: z.literal('cancelled') }) },
    ...errors(400, 401),
    404: { description: "No such stream (or another tenant's, or forgotten after `streams.retention`).", schema: errors(404)[404].schema },
    409: { description: 'The stream has ended already (`stream_ended`), with `state`.', schema: errors(409)[409].schema },
    ...errors(503),
  },
} satisfies RouteDoc;

export const streamAdminRouteDocs: readonly RouteDoc[] = [streamListRoute, streamAdminCancelRoute];

type Listed = OpenStreamListing & { node: string };

/** Subscribers per `tenant channel` key, summed over the nodes' room figures. */
async function subscriberCounts(node: Node, tenant: string | undefined): Promise<Map<string, number>> {
  const { answers } = await node.cluster.ask<NodeStats>({ kind: 'stats', ...(tenant !== undefined ? { tenant } : {}) }, CLUSTER_TIMEOUT_MS);
  const counts = new Map<string, number>();
  for (const { answer } of answers) {
    for (const room of answer?.rooms ?? []) {
      const key = channelKey(room.tenant, room.channel);
      counts.set(key, (counts.get(key) ?? 0) + room.subscribers);
    }
  }
  return counts;
}

/** `GET /api/v1/streams` and `POST /api/v1/streams/{id}/cancel`: the streams an admin sees and ends. */
export function streamAdminRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, streamListRoute, async (request, reply) => {
    const query = parseOr400(listQuery, request.query, reply);
    if (!query) return reply;
    try {
      const tenant = tenantScope(request, query.tenant);
      const [{ answers, nodes }, viewers] = await Promise.all([
        node.cluster.ask<OpenStreamListing[]>({ kind: 'streams', ...(tenant !== undefined ? { tenant } : {}) }, CLUSTER_TIMEOUT_MS),
        subscriberCounts(node, tenant),
      ]);
      // A node of an older version does not know the question: its answer is no list.
      const listed: Listed[] = answers.flatMap((a) => (Array.isArray(a.answer) ? a.answer.map((s) => ({ ...s, node: a.node })) : []));
      const seen = new Set<string>();
      const unique = listed.filter((s) => !seen.has(s.id) && seen.add(s.id)).sort((a, b) => a.openedAt - b.openedAt);
      const rows = [];
      for (const s of unique.slice(0, MAX_ROWS)) {
        // The engine has the last word: a stream that ended since the node answered is left out.
        const where = await node.streams.locate(tenant, s.id).catch(() => undefined);
        const bytes = where?.state === 'open' ? await node.streams.bytesOf(s.id, where.home) : undefined;
        if (bytes === undefined) continue;
        const count = s.channels.reduce((n, c) => n + (viewers.get(channelKey(s.tenant, c)) ?? 0), 0);
        rows.push({ id: s.id, tenant: s.tenant, channels: s.channels, kind: s.kind, state: 'open' as const, bytes, openedAt: s.openedAt, node: s.node, viewers: count });
      }
      return { nodes, answered: answers.length, truncated: unique.length > MAX_ROWS, streams: rows };
    } catch (err) {
      return sendStreamFailure(err, reply, node);
    }
  });

  addRoute(app, node.config, streamAdminCancelRoute, async (request, reply) => {
    const params = parseOr400(cancelParams, request.params, reply);
    if (!params) return reply;
    try {
      return await node.streams.cancelAsAdmin(tenantScope(request, undefined), params.id, request.apiCaller?.name ?? 'admin');
    } catch (err) {
      return sendStreamFailure(err, reply, node);
    }
  });
}
