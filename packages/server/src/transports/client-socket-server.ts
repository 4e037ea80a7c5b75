import { WebSocketServer } from 'ws';
import type { HeraldConfig } from '../config/schema.js';

/**
 * The `ws` server every client-facing WebSocket transport upgrades through: no compression, no
 * tracking (the transport keeps its own links), and the configured bounds on one message.
 */
export function clientSocketServer(config: HeraldConfig): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: config.limits.maxMessageBytes,
    clientTracking: false,
    // Not in @types/ws yet: bounds how many fragments one message may be split into.
    ...({ maxFragments: config.limits.maxFragments } as object),
  });
}
