import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HeraldConfig } from '../config/schema.js';
import { forbidden } from '../core/errors.js';
import { addRoute, errors, type RouteDoc } from '../http/route-doc.js';
import { PUSHER_WEBHOOK_EVENTS } from '../config/pusher-webhooks.js';
import { WEBHOOK_TYPES } from './event-types.js';
import type { WebhookService } from './start.js';

const endpointStats = z.object({
  name: z.string(),
  url: z.string().meta({ description: 'Without credentials, query or fragment.' }),
  events: z.array(z.enum([...WEBHOOK_TYPES, ...PUSHER_WEBHOOK_EVENTS])).meta({ description: "The event types it takes; a Pusher app's webhook names them as Pusher does." }),
  queued: z.number().int().meta({ description: 'Events held now: waiting, waiting for a retry, or in flight.' }),
  queuedBytes: z.number().int(),
  inFlight: z.number().int(),
  sent: z.number().int().meta({ description: 'Events the endpoint answered with a 2xx.' }),
  retries: z.number().int().meta({ description: 'Attempts that failed and were retried.' }),
  failed: z.number().int().meta({ description: 'Events given up on once `retry.giveUpAfter` had passed.' }),
  dropped: z.number().int().meta({ description: 'Events not queued because the queue was full.' }),
});

const webhookStats = z.object({
  scope: z.literal('node'),
  endpoints: z.array(endpointStats),
  queue: z.object({ maxEvents: z.number().int(), maxBytes: z.number().int() }).meta({ description: 'Bounds of each endpoint\'s queue.' }),
  recentDeliveries: z
    .array(
      z.object({
        endpoint: z.string(),
        webhookId: z.string(),
        type: z.string(),
        at: z.string().meta({ description: 'When it was sent or given up on.' }),
        attempts: z.number().int(),
        outcome: z.enum(['sent', 'failed']).meta({ description: '`sent`: answered with a 2xx; `failed`: given up on (also in `recentFailures`).' }),
        status: z.number().int().optional(),
        reason: z.string().optional(),
      }),
    )
    .meta({ description: 'The latest 50 finished deliveries, sent or given up on, the latest first.' }),
  recentFailures: z
    .array(
      z.object({
        endpoint: z.string(),
        webhookId: z.string(),
        type: z.string(),
        at: z.string(),
        attempts: z.number().int(),
        status: z.number().int().optional().meta({ description: 'The last attempt\'s HTTP status, when it got one.' }),
        reason: z.string(),
      }),
    )
    .meta({ description: 'The latest 50 events given up on, the latest first.' }),
  publishProxies: z.array(z.object({ url: z.string(), allowed: z.number().int(), refused: z.number().int(), rewritten: z.number().int(), failed: z.number().int() })),
});

export const webhookStatsRoute = {
  method: 'GET',
  url: '/api/v1/stats/webhooks',
  operationId: 'webhookStats',
  tag: 'stats',
  summary: 'Webhook endpoints, queues, deliveries and failures',
  description: "The numbers of the node that answers: each node sends the events that happened on it. Without a key when `api.publicStats` is on. 403 for a caller limited to one tenant: endpoints and deliveries are the whole gateway's.",
  auth: 'stats',
  responses: { 200: { description: 'Webhook figures of this node.', schema: webhookStats }, ...errors(401, 403) },
} satisfies RouteDoc;

/** `GET /api/v1/stats/webhooks`. */
export function webhookStatsRoutes(app: FastifyInstance, config: HeraldConfig, webhooks: WebhookService): void {
  addRoute(app, config, webhookStatsRoute, async (request) => {
    // Endpoints serve every tenant; their deliveries would tell one tenant what happens in others.
    if (request.apiCaller?.tenant !== undefined) throw forbidden(`webhook endpoints and deliveries are the whole gateway's; this caller sees only tenant ${request.apiCaller.tenant}`);
    return { scope: 'node' as const, ...webhooks.stats() };
  });
}
