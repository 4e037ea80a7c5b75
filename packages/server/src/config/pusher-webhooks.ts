import { z } from 'zod';
import { webhookEndpoint } from '../webhooks/config.js';

/** The events of Pusher's webhooks, as `event_types` names them. */
export const PUSHER_WEBHOOK_EVENTS = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'] as const;
export type PusherWebhookEvent = (typeof PUSHER_WEBHOOK_EVENTS)[number];

/**
 * One webhook of a Pusher app, in Soketi's shape (`url`, `event_types`, `filter`), sent by
 * Herald's webhook machinery with its timeout, concurrency and retries.
 */
export const pusherWebhook = webhookEndpoint.pick({ name: true, url: true, timeout: true, concurrency: true, retry: true }).extend({
  event_types: z.array(z.enum(PUSHER_WEBHOOK_EVENTS)).min(1),
  /** Only channels whose names start and end so (both when both are given). */
  filter: z
    .strictObject({
      channel_name_starts_with: z.string().min(1).max(164).optional(),
      channel_name_ends_with: z.string().min(1).max(164).optional(),
    })
    .optional(),
});
export type PusherWebhookConfig = z.infer<typeof pusherWebhook>;
