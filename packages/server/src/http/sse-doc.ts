import { z } from 'zod';
import type { HeraldConfig } from '../config/schema.js';
import { errors, type RouteDoc } from './route-doc.js';

/*
 * The Server-Sent Events endpoints, as the OpenAPI document shows them. SseTransport registers
 * these routes itself and reads its query by hand, so these schemas only describe it; the
 * route-list test keeps their paths and methods in step with what is served.
 */

const token = z.string().optional().meta({ description: 'The client JWT, for clients that cannot set `Authorization` (EventSource).' });
const lastEventId = z.string().optional().meta({ description: 'Resume cursor, for clients that cannot send the `Last-Event-ID` header.' });

const resumeHeader = z.object({ 'Last-Event-ID': z.string().optional().meta({ description: 'The `id` of the last event received; sent by EventSource on reconnect.' }) });

const sseQuery = z.strictObject({
  channels: z.string().min(1).meta({ description: 'Channels to subscribe to, comma-separated, at most 32, each listed once.' }),
  token,
  lastEventId,
});

const stream = {
  description:
    'An event stream: `connected` (envelope format), one event per publication with a resume cursor as `id`, `not_recovered` when missed publications cannot be replayed, `error`.',
  contentType: 'text/event-stream',
};

const description =
  'Resumes from the `Last-Event-ID` header (or `lastEventId`): everything missed within the history window is replayed, or a `not_recovered` event says what cannot be.';

export const sseRoute = {
  method: 'GET',
  url: '/sse',
  operationId: 'sseStream',
  tag: 'streams',
  summary: 'Subscribe to channels over Server-Sent Events',
  description,
  auth: 'clientToken',
  query: sseQuery,
  headers: resumeHeader,
  responses: { 200: stream, ...errors(400, 401, 403, 503) },
} satisfies RouteDoc;

const placeholders = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** One configured route (`routes[]` with a channel) served as an event stream. */
function configuredRouteDoc(route: HeraldConfig['routes'][number], index: number): RouteDoc {
  const names = [...route.path.matchAll(placeholders)].map((m) => m[1]);
  return {
    method: 'GET',
    url: route.path.replace(placeholders, ':$1'),
    operationId: `sseRoute${index}`,
    tag: 'streams',
    summary: `Events of ${route.channel} (${route.format === 'data' ? 'bare data' : 'full envelope'})`,
    description: `${description} The same path upgrades to a WebSocket. Requests must accept \`text/event-stream\` (406 otherwise).`,
    auth: 'clientToken',
    ...(names.length > 0 ? { params: z.strictObject(Object.fromEntries(names.map((n) => [n, z.string()]))) } : {}),
    query: z.strictObject({ token, lastEventId }),
    headers: resumeHeader,
    responses: { 200: stream, ...errors(401, 403, 406, 503) },
  };
}

/** `GET /sse` and every configured route with a channel. */
export function sseRouteDocs(config: HeraldConfig): RouteDoc[] {
  return [sseRoute, ...config.routes.flatMap((route, i) => (route.channel === undefined ? [] : [configuredRouteDoc(route, i)]))];
}
