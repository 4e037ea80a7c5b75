import type { PusherConfig } from '../config/pusher.js';
import type { PusherWebhookConfig, PusherWebhookEvent } from '../config/pusher-webhooks.js';
import { numericConnectionId } from '../core/ids.js';
import type { EndpointSpec, WebhookEncoder } from '../webhooks/endpoint-spec.js';
import { displayUrl } from '../webhooks/endpoint-name.js';
import type { WebhookType } from '../webhooks/event-types.js';
import type { WebhookEvent } from '../webhooks/lifecycle-events.js';
import { tenantOf } from './apps.js';
import { eventData, needsAuth } from './frames.js';
import { sign } from './signatures.js';

/** The Herald lifecycle event each Pusher webhook event is made of. */
const SOURCE: Record<PusherWebhookEvent, WebhookType> = {
  channel_occupied: 'channel.occupied',
  channel_vacated: 'channel.vacated',
  member_added: 'presence.joined',
  member_removed: 'presence.left',
  client_event: 'client.published',
};

type PusherEvent = Record<string, string> & { name: PusherWebhookEvent; channel: string };

/** The Pusher events of one Herald event, one per channel it concerns; none where Pusher would say nothing. */
function pusherEvents(event: WebhookEvent): PusherEvent[] {
  const { data } = event;
  switch (event.type) {
    case 'channel.occupied':
    case 'channel.vacated':
      return event.channels.map((channel) => ({ name: event.type === 'channel.occupied' ? 'channel_occupied' : 'channel_vacated', channel }));
    case 'presence.joined':
    case 'presence.left':
      // Members are a presence channel's: other channels' presence (a rule's joinLeave) is not Pusher's.
      return event.channels
        .filter((channel) => channel.startsWith('presence-'))
        .map((channel) => ({ name: event.type === 'presence.joined' ? 'member_added' : 'member_removed', channel, user_id: String(data.userId) }));
    case 'client.published': {
      // Client events of Pusher connections: those name their socket, and are `client-*` on private and presence channels.
      const socketId = event.connectionId !== undefined ? numericConnectionId(event.connectionId) : undefined;
      if (socketId === undefined || typeof data.event !== 'string' || !data.event.startsWith('client-')) return [];
      return event.channels
        .filter(needsAuth)
        .map((channel) => ({
          name: 'client_event',
          channel,
          event: data.event as string,
          data: eventData(data.data),
          socket_id: socketId,
          ...(channel.startsWith('presence-') && typeof data.userId === 'string' ? { user_id: data.userId } : {}),
        }));
    }
    default:
      return [];
  }
}

/** Pusher's webhook body, `{time_ms, events}` (`time_ms`: now, as the event happens): one request per Herald event. */
const pusherBody: WebhookEncoder = (event) => {
  const events = pusherEvents(event);
  return events.length > 0 ? JSON.stringify({ time_ms: Date.now(), events }) : undefined;
};

/** An app's webhook filter: its tenant, its event types, and the channel name's start and end. */
class PusherWebhookFilter {
  readonly types: ReadonlySet<WebhookType>;
  private readonly prefix: string | undefined;
  private readonly suffix: string | undefined;

  constructor(
    private readonly tenant: string,
    config: PusherWebhookConfig,
  ) {
    this.types = new Set(config.event_types.map((t) => SOURCE[t]));
    this.prefix = config.filter?.channel_name_starts_with;
    this.suffix = config.filter?.channel_name_ends_with;
  }

  passes(event: WebhookEvent): boolean {
    return event.tenant === this.tenant && this.types.has(event.type) && event.channels.some((channel) => this.channelPasses(channel));
  }

  private channelPasses(channel: string): boolean {
    return (this.prefix === undefined || channel.startsWith(this.prefix)) && (this.suffix === undefined || channel.endsWith(this.suffix));
  }
}

/**
 * The Pusher apps' webhooks as endpoints of Herald's webhook machinery: Pusher's bodies, signed
 * as Pusher signs them (`X-Pusher-Key`, and `X-Pusher-Signature` = hex HMAC-SHA256 of the body
 * with the app secret), which the `pusher` SDK's `webhook()` checks.
 *
 * @example
 * new Webhooks(node.events, node.logger, config.webhooks, counters, pusherWebhookEndpoints(config.pusher));
 */
export function pusherWebhookEndpoints(config: PusherConfig): EndpointSpec[] {
  return config.apps.flatMap((app) =>
    app.webhooks.map(
      (webhook): EndpointSpec => ({
        name: webhook.name ?? `${app.id} ${displayUrl(webhook.url)}`,
        url: webhook.url,
        events: webhook.event_types,
        filter: new PusherWebhookFilter(tenantOf(app), webhook),
        encode: pusherBody,
        sign: (_id, body) => ({ 'x-pusher-key': app.key, 'x-pusher-signature': sign(app.secret, body) }),
        timeout: webhook.timeout,
        concurrency: webhook.concurrency,
        retry: webhook.retry,
      }),
    ),
  );
}
