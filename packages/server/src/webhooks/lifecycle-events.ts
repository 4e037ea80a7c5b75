import type { LifecycleBus, LifecycleEventName, LifecycleEvents } from '../core/events.js';
import type { WebhookType } from './event-types.js';

/** One lifecycle event as webhooks send it: its type, the tenant and channels filters look at, and the payload's `data`. */
export interface WebhookEvent {
  type: WebhookType;
  tenant: string;
  /** The channels it concerns; empty for connection events. */
  channels: readonly string[];
  data: Record<string, unknown>;
  /** The client connection a publication came from, when its publisher said (Pusher client events do); not in `data`. */
  connectionId?: string;
}

/** Which bus event each webhook type comes from. */
const SOURCE: Record<WebhookType, LifecycleEventName> = {
  'client.connected': 'connect',
  'client.disconnected': 'disconnect',
  'channel.subscribed': 'subscribe',
  'channel.unsubscribed': 'unsubscribe',
  'channel.occupied': 'occupancy',
  'channel.vacated': 'occupancy',
  'presence.joined': 'presence',
  'presence.left': 'presence',
  'client.published': 'publish',
  'client.message': 'message',
  'stream.cancelled': 'stream',
};

/**
 * Listens on the bus for the events of the given types only (so that, say, occupancy is tracked
 * only when someone wants it) and hands each on as a WebhookEvent. Returns the unsubscribe.
 */
export function listenForWebhooks(bus: LifecycleBus, types: ReadonlySet<WebhookType>, emit: (event: WebhookEvent) => void): () => void {
  const wanted = new Set([...types].map((t) => SOURCE[t]));
  const offs: (() => void)[] = [];
  const send = (type: WebhookType, tenant: string, channels: readonly string[], data: Record<string, unknown>, connectionId?: string) => {
    if (types.has(type)) emit({ type, tenant, channels, data, ...(connectionId !== undefined ? { connectionId } : {}) });
  };
  const on = <K extends LifecycleEventName>(name: K, listener: (event: LifecycleEvents[K]) => void) => {
    if (wanted.has(name)) offs.push(bus.on(name, listener));
  };
  on('connect', (e) => send('client.connected', e.tenant, [], { ...e }));
  on('disconnect', (e) => send('client.disconnected', e.tenant, [], { ...e }));
  on('subscribe', (e) => send('channel.subscribed', e.tenant, [e.channel], { ...e }));
  on('unsubscribe', (e) => send('channel.unsubscribed', e.tenant, [e.channel], { ...e }));
  on('occupancy', ({ action, tenant, channel }) => send(action === 'occupied' ? 'channel.occupied' : 'channel.vacated', tenant, [channel], { tenant, channel }));
  on('presence', ({ action, ...rest }) => send(action === 'join' ? 'presence.joined' : 'presence.left', rest.tenant, [rest.channel], rest));
  on('publish', (e) => {
    // The API's own publications come from the backend, which needs no telling; a retry stored nothing new.
    if (e.source !== 'client' || e.duplicate) return;
    const publisher = e.publisher ? { userId: e.publisher.userId, ...(e.publisher.info ? { info: e.publisher.info } : {}) } : {};
    send('client.published', e.tenant, e.channels, { tenant: e.tenant, channels: e.channels, event: e.event, id: e.id, data: e.data ?? null, ...publisher }, e.connectionId);
  });
  on('message', (e) => send('client.message', e.tenant, [], { ...e }));
  on('stream', ({ action, ...rest }) => {
    if (action === 'cancelled') send('stream.cancelled', rest.tenant, [rest.channel], rest);
  });
  return () => offs.forEach((off) => off());
}
