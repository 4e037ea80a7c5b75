import { z } from 'zod';
import type { RouteDoc } from './route-doc.js';

/*
 * The shape of `GET /`: what this gateway serves, as its configuration says. Kept apart from
 * endpoints.ts (which builds it) so the OpenAPI module can list the route without a cycle.
 */

const nullableString = z.string().nullable();

export const endpointListing = z.object({
  name: z.literal('Herald'),
  about: z.string(),
  version: z.string(),
  docs: z.array(z.object({ title: z.string(), file: z.string().meta({ description: 'A file of the Herald repository.' }) })),
  websocket: z.object({ path: z.string(), protocol: z.string().meta({ description: 'Where the protocol is described, in the repository.' }) }),
  routes: z.array(
    z.object({
      path: z.string(),
      channel: nullableString,
      format: z.enum(['envelope', 'data']),
      sse: z.boolean().meta({ description: 'Also served as Server-Sent Events to requests accepting text/event-stream.' }),
      resume: z.object({ frame: z.string(), field: z.string() }).nullable(),
    }),
  ),
  socketio: z
    .object({
      path: z.string(),
      namespaces: z.array(z.object({ name: z.string(), channels: z.array(z.string()) })),
      polling: z.boolean(),
    })
    .nullable(),
  sse: z.array(z.object({ path: z.string(), channel: nullableString, query: nullableString })),
  pusher: z
    .object({
      path: z.string().meta({ description: 'Pusher clients connect to `{path}/{key}?protocol=7`.' }),
      apps: z.array(z.object({ id: z.string(), key: z.string().meta({ description: 'The public key clients connect with.' }) })),
      api: z.string().meta({ description: 'The Pusher HTTP API, under `/apps/{id}/`.' }),
      docs: z.string(),
    })
    .nullable(),
  api: z.array(
    z.object({
      method: z.enum(['GET', 'POST']),
      path: z.string(),
      summary: z.string(),
      auth: z.enum(['none', 'apiKey', 'clientToken']),
    }),
  ),
  broadcasts: z.array(z.object({ name: z.string(), event: z.string(), path: z.string(), payload: nullableString, rooms: z.array(z.string()) })),
  audit: z
    .object({ websocket: z.string(), sse: z.string(), adminRole: z.string().meta({ description: 'The role a token needs to read the feed.' }) })
    .nullable()
    .meta({ description: 'The audit feed for admins (docs/audit.md), when enabled.' }),
  openapi: z.string(),
  console: nullableString.meta({ description: 'The web console, when `console.enabled`.' }),
  operations: z.object({ health: z.string(), ready: z.string(), metrics: z.string() }),
});
export type EndpointListing = z.infer<typeof endpointListing>;

export const indexRoute = {
  method: 'GET',
  url: '/',
  operationId: 'index',
  tag: 'operations',
  summary: 'What this gateway is and the endpoints its configuration serves',
  description: 'JSON; a browser (`Accept: text/html`) gets the same as a page. Carries no secrets: no keys, no JWT secret, no channel rules.',
  auth: 'none',
  responses: { 200: { description: 'The endpoints of this configuration.', schema: endpointListing } },
} satisfies RouteDoc;
