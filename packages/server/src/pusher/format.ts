import { dataWithPublisher } from '@herald/protocol';
import type { WireFormat } from '../core/outbound.js';
import { eventData } from './frames.js';

/**
 * A publication as a Pusher event: `{event, channel, data}` with the data as a string. A Pusher
 * client event keeps Pusher's shape: its data as sent and, on presence channels, the sender's
 * `user_id`. Another client's publication (native WebSocket, Socket.IO) carries the gateway's
 * `publisher` stamp in its object data, as every format that sends only the data does. Encoded
 * once per publication for every Pusher connection.
 */
export const pusherFormat: WireFormat = {
  name: 'pusher',
  encode: (p) => {
    const clientEvent = p.event.startsWith('client-');
    const userId = clientEvent && p.publisher && p.channel.startsWith('presence-') ? p.publisher.userId : undefined;
    const data = clientEvent ? p.data : dataWithPublisher(p);
    return Buffer.from(JSON.stringify({ event: p.event, channel: p.channel, data: eventData(data), ...(userId !== undefined ? { user_id: userId } : {}) }));
  },
};
