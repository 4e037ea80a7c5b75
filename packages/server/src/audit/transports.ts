import type { FastifyInstance } from 'fastify';
import type { Node } from '../core/node.js';
import type { AuditFeed } from './feed.js';
import { AuditSse } from './sse.js';
import { AuditWebSocket } from './websocket.js';

/** The feed's endpoints: `/ws/audit` (upgrades, routed by transports/registry.ts) and its SSE twin. */
export function auditTransports(node: Node, http: FastifyInstance, feed: AuditFeed) {
  const websocket = new AuditWebSocket(node, feed);
  const sse = new AuditSse(node, feed, http);
  return {
    websocket,
    close() {
      websocket.close();
      sse.close();
      feed.close();
    },
  };
}
