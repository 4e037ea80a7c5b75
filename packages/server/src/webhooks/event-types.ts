/** The webhook event types Herald sends, as the `type` of each payload and the names endpoint filters take. */
export const WEBHOOK_TYPES = [
  'client.connected',
  'client.disconnected',
  'channel.subscribed',
  'channel.unsubscribed',
  'channel.occupied',
  'channel.vacated',
  'presence.joined',
  'presence.left',
  'client.published',
  'client.message',
  'stream.cancelled',
] as const;

export type WebhookType = (typeof WEBHOOK_TYPES)[number];
