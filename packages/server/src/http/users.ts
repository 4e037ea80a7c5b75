import { CloseCode } from '@herald/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Node } from '../core/node.js';
import { callerTenant } from './api-auth.js';
import { addRoute, errors, type RouteDoc } from './route-doc.js';
import { tenantName } from './schemas.js';
import { parseOr400, sendFailure } from './validation.js';

// A WebSocket close frame carries at most 123 bytes of reason.
const MAX_REASON_BYTES = 123;

export const userParams = z.strictObject({ userId: z.string().min(1).max(1024).meta({ description: 'The user id, URL-encoded.' }) });

export const disconnectBody = z.strictObject({
  tenant: tenantName.optional(),
  reason: z
    .string()
    .max(MAX_REASON_BYTES)
    .refine((r) => Buffer.byteLength(r) <= MAX_REASON_BYTES, `reason must fit a close frame: at most ${MAX_REASON_BYTES} bytes of UTF-8`)
    .optional()
    .meta({ description: `Sent to the client as the close reason; at most ${MAX_REASON_BYTES} bytes of UTF-8.` }),
  connectionId: z.string().min(1).max(64).optional().meta({ description: 'Close only this connection of the user.' }),
  token: z.string().optional().meta({ description: 'The API key, for callers that cannot set `Authorization`.' }),
});

const disconnectResult = z.object({
  disconnected: z.number().int().meta({ description: 'Connections closed on the node that answered; other nodes close theirs too.' }),
});

export const disconnectRoute = {
  method: 'POST',
  url: '/api/v1/users/:userId/disconnect',
  operationId: 'disconnectUser',
  tag: 'users',
  summary: "Close a user's connections on every node",
  description: `Clients are closed with code ${CloseCode.DisconnectedByServer} and should not reconnect on their own. The body may be omitted.`,
  auth: 'apiKey',
  params: userParams,
  body: disconnectBody,
  optionalBody: true,
  responses: { 200: { description: 'Disconnect sent.', schema: disconnectResult }, ...errors(400, 401, 403, 413, 415, 500, 503) },
} satisfies RouteDoc;

/** `POST /api/v1/users/:userId/disconnect`. */
export function userRoutes(app: FastifyInstance, node: Node): void {
  addRoute(app, node.config, disconnectRoute, async (request, reply) => {
    const params = parseOr400(userParams, request.params, reply);
    const body = params && parseOr400(disconnectBody, request.body ?? {}, reply);
    if (!params || !body) return reply;
    const tenant = callerTenant(request, node.config, body.tenant);
    try {
      const n = await node.disconnect(tenant, params.userId, CloseCode.DisconnectedByServer, body.reason ?? 'disconnected by the server', body.connectionId);
      return { disconnected: n };
    } catch (err) {
      return sendFailure(err, reply, node.logger);
    }
  });
}
