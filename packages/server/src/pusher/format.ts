import type { WireFormat } from '../core/outbound.js';
import { eventData } from './frames.js';

/**
 * A publication as a Pusher event: `{event, channel, data}` with the data as a string, and on
 * presence channels the `user_id` of the client that sent a client event. Encoded once per
 * publication for every Pusher connection.
 */
export const pusherFormat: WireFormat = {
  name: 'pusher',
  encode: (p) => {
    const userId = p.publisher && p.channel.startsWith('presence-') && p.event.startsWith('client-') ? p.publisher.userId : undefined;
    return Buffer.from(JSON.stringify({ event: p.event, channel: p.channel, data: eventData(p.data), ...(userId !== undefined ? { user_id: userId } : {}) }));
  },
};
