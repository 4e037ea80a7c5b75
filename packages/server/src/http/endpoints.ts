import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AUDIT_SSE_PATH } from '../audit/sse.js';
import type { HeraldConfig } from '../config/schema.js';
import type { Node } from '../core/node.js';
import { indexRoute, type EndpointListing } from './endpoints-doc.js';
import { documentedRoutes, openApiPath, packageVersion } from './openapi.js';
import { addRoute } from './route-doc.js';

/*
 * What this gateway serves, from its configuration: one description for `GET /` (JSON, or a page
 * for a browser) and for the start-up banner. Paths and names only: no key, secret or rule.
 */

const DOCS: EndpointListing['docs'] = [
  { title: 'Configuration, channels and rules, HTTP API, CLI', file: 'README.md' },
  { title: 'Native WebSocket protocol', file: 'docs/protocol.md' },
  { title: 'Socket.IO and Server-Sent Events', file: 'docs/transports.md' },
  { title: 'Client SDK (@herald/client)', file: 'docs/client.md' },
  { title: 'Pusher Channels protocol (pusher-js, Laravel Echo)', file: 'docs/pusher.md' },
  { title: 'Scaling out on Redis', file: 'docs/scaling.md' },
  { title: 'Audit feed for admins', file: 'docs/audit.md' },
  { title: 'Web console', file: 'docs/console.md' },
  { title: 'Example profiles of the seed systems', file: 'examples/' },
];

/** Describes the endpoints a configuration serves. */
export function describeEndpoints(config: HeraldConfig): EndpointListing {
  const routes = config.routes.map((r) => ({ path: r.path, channel: r.channel ?? null, format: r.format, sse: r.channel !== undefined, resume: r.resume ?? null }));
  return {
    name: 'Herald',
    about: 'A self-hosted real-time event gateway: backend services publish events over HTTP; browsers and apps receive them over WebSocket, Socket.IO or Server-Sent Events.',
    version: packageVersion(),
    docs: DOCS,
    websocket: { path: config.websocket.path, protocol: 'docs/protocol.md' },
    routes,
    socketio: config.socketio.enabled
      ? {
          path: config.socketio.path,
          namespaces: config.socketio.namespaces.map((n) => (typeof n === 'string' ? { name: n, channels: [] } : { name: n.name, channels: n.channels })),
          polling: config.socketio.polling,
        }
      : null,
    sse: [{ path: '/sse', channel: null, query: 'channels=a,b' }, ...routes.filter((r) => r.sse).map((r) => ({ path: r.path, channel: r.channel, query: null }))],
    pusher:
      config.pusher.apps.length > 0
        ? { path: config.pusher.path, apps: config.pusher.apps.map((a) => ({ id: a.id, key: a.key })), api: '/apps/{id}/events', docs: 'docs/pusher.md' }
        : null,
    api: documentedRoutes(config)
      .filter((doc) => doc.tag !== 'streams')
      .map((doc) => ({
        method: doc.method,
        path: openApiPath(doc.url),
        summary: doc.summary,
        auth: doc.auth === 'stats' ? (config.api.publicStats ? 'none' : 'apiKey') : doc.auth,
      })),
    broadcasts: config.api.broadcasts.map((a) => ({ name: a.name, event: a.event, path: `/api/v1/broadcast/${a.name}`, payload: a.payload ?? null, rooms: a.rooms })),
    audit: config.audit.enabled ? { websocket: config.audit.path, sse: AUDIT_SSE_PATH, adminRole: config.audit.adminRole } : null,
    openapi: '/api/openapi.json',
    console: config.console.enabled ? '/console/' : null,
    operations: { health: '/health', ready: '/ready', metrics: '/metrics' },
  };
}

const wsBase = (base: string) => base.replace(/^http/, 'ws');

function routeNote(route: EndpointListing['routes'][number]): string {
  const parts = [route.channel ? `channel ${route.channel}` : 'no channel', route.format === 'data' ? 'the bare data' : 'full envelopes'];
  if (route.resume) parts.push(`resume with {"type":"${route.resume.frame}","${route.resume.field}":N}`);
  return parts.join(', ');
}

function socketIoCall(base: string, path: string, namespace: string): string {
  const url = namespace === '/' ? base : `${base}${namespace}`;
  return `io("${url}", { ${path === '/socket.io' ? '' : `path: "${path}", `}auth: { token } })`;
}

/** The start-up banner's lines for the served endpoints, with `base` the listening URL. */
export function endpointLines(listing: EndpointListing, base: string): string[] {
  const lines: string[] = [];
  const add = (label: string, values: string[]) => values.forEach((v, i) => lines.push(`  ${(i === 0 ? label : '').padEnd(12)}${v}`));
  add('Endpoints', [`${base}/  (this list: a page in a browser, JSON otherwise)`]);
  add('WebSocket', [`${wsBase(base)}${listing.websocket.path}?token=<jwt>`]);
  add('Routes', listing.routes.map((r) => `${wsBase(base)}${r.path}?token=<jwt>  (${routeNote(r)}${r.sse ? '; SSE on the same path' : ''})`));
  if (listing.socketio) {
    add(
      'Socket.IO',
      listing.socketio.namespaces.map((n) => `${socketIoCall(base, listing.socketio!.path, n.name)}${n.channels.length > 0 ? `  (joins ${n.channels.join(', ')})` : ''}`),
    );
  }
  const routeStreams = listing.sse.some((s) => s.channel !== null) ? '  (and the routes above, with Accept: text/event-stream)' : '';
  add('SSE', [`${base}/sse?channels=a,b&token=<jwt>${routeStreams}`]);
  if (listing.audit) add('Audit', [`${wsBase(base)}${listing.audit.websocket}?token=<jwt>  (role ${listing.audit.adminRole}; SSE: ${base}${listing.audit.sse})`]);
  if (listing.pusher) add('Pusher', listing.pusher.apps.map((a) => `${wsBase(base)}${listing.pusher!.path}/${a.key}?protocol=7  (app ${a.id}; API ${base}/apps/${a.id}/events)`));
  add('Publish', [`POST ${base}/api/v1/publish  (Authorization: Bearer <API key>)`]);
  add('Broadcasts', listing.broadcasts.map((b) => `POST ${base}${b.path}  → ${b.event}${b.rooms.length > 0 ? ` (rooms ${b.rooms.join(', ')} unless given)` : ''}`));
  add('HTTP API', [`${base}${listing.openapi}  (OpenAPI: every route)`]);
  if (listing.console) add('Console', [`${base}${listing.console}`]);
  add('Health', [`${base}${listing.operations.health}, ${listing.operations.ready}, ${listing.operations.metrics}`]);
  return lines;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The base URL as the browser reached the gateway (display only). */
function requestBase(request: FastifyRequest): string {
  const proto = request.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  return `${proto}://${request.headers.host ?? 'localhost'}`;
}

const AUTH_LABEL: Record<EndpointListing['api'][number]['auth'], string> = { none: 'open', apiKey: 'API key', clientToken: 'client JWT' };

/** `GET /` as a page: the same listing as the JSON, for a person. */
export function endpointsPage(listing: EndpointListing, base: string): string {
  const e = escape;
  const code = (text: string) => `<code>${e(text)}</code>`;
  const link = (path: string) => `<a href="${e(path)}">${e(base + path)}</a>`;
  const rows = (cells: string[][]) => cells.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  const ws = wsBase(base);
  const sections: string[] = [];
  if (listing.console) sections.push(`<p class="console">Web console: <a href="${e(listing.console)}">${e(base + listing.console)}</a></p>`);
  sections.push(`<h2>Connect</h2>
<table>
${rows([
  ['Native WebSocket', `${code(`${ws}${listing.websocket.path}?token=<jwt>`)} (protocol: ${code(listing.websocket.protocol)})`],
  ...listing.routes.map((r) => ['Route', `${code(`${ws}${r.path}?token=<jwt>`)} ${e(routeNote(r))}${r.sse ? '; Server-Sent Events on the same path' : ''}`]),
  ...(listing.socketio
    ? listing.socketio.namespaces.map((n) => [
        'Socket.IO',
        `${code(socketIoCall(base, listing.socketio!.path, n.name))} namespace ${code(n.name)}${n.channels.length > 0 ? `, joins ${e(n.channels.join(', '))}` : ''}${listing.socketio!.polling ? '' : ', WebSocket only'}`,
      ])
    : []),
  ...(listing.pusher ? listing.pusher.apps.map((a) => ['Pusher', `${code(`${ws}${listing.pusher!.path}/${a.key}?protocol=7`)} app ${e(a.id)} (${code(listing.pusher!.docs)})`]) : []),
  ...listing.sse.map((s) => ['Server-Sent Events', `${code(`${base}${s.path}?${s.query ? `${s.query}&` : ''}token=<jwt>`)}${s.channel ? ` channel ${e(s.channel)}` : ''}`]),
  ...(listing.audit ? [['Audit feed', `${code(`${ws}${listing.audit.websocket}?token=<jwt>`)} and ${code(`${base}${listing.audit.sse}`)} for role ${code(listing.audit.adminRole)} (${code('docs/audit.md')})`]] : []),
])}
</table>`);
  sections.push(`<h2>HTTP API</h2>
<p>Full description: ${link(listing.openapi)} (OpenAPI 3.1). An API key goes in ${code('Authorization: Bearer <key>')}.</p>
<table>
<tr><th>method</th><th>path</th><th>auth</th><th></th></tr>
${rows(listing.api.map((a) => [e(a.method), code(a.path), e(AUTH_LABEL[a.auth]), e(a.summary).replace(/`([^`]+)`/g, '<code>$1</code>')]))}
</table>`);
  if (listing.broadcasts.length > 0) {
    sections.push(`<h2>Broadcast aliases</h2>
<table>
<tr><th>path</th><th>event</th><th>data from</th><th>default rooms</th></tr>
${rows(listing.broadcasts.map((b) => [`POST ${code(b.path)}`, code(b.event), b.payload ? code(b.payload) : `${code('data')} or the body`, e(b.rooms.join(', ') || '(the body names them)')]))}
</table>`);
  }
  sections.push(`<h2>Operations</h2>
<p>${link(listing.operations.health)} · ${link(listing.operations.ready)} · ${link(listing.operations.metrics)} · ${link(listing.openapi)}</p>`);
  sections.push(`<h2>Docs</h2>
<p>In the Herald repository:</p>
<ul>
${listing.docs.map((d) => `<li>${code(d.file)}: ${e(d.title)}</li>`).join('\n')}
</ul>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald ${e(listing.version)}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem; color: #1b1f24; }
code { font: 13px ui-monospace, monospace; background: #f2f4f7; padding: 0 .25rem; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; vertical-align: top; padding: .3rem .6rem .3rem 0; border-bottom: 1px solid #e4e7eb; }
h1 small { font-weight: normal; color: #57606a; font-size: 60%; }
</style>
</head>
<body>
<h1>Herald <small>${e(listing.version)}</small></h1>
<p>${e(listing.about)}</p>
${sections.join('\n')}
</body>
</html>
`;
}

/** `GET /`: the listing as JSON, or as a page when the client accepts text/html. */
export function endpointRoutes(app: FastifyInstance, node: Node): void {
  const listing = describeEndpoints(node.config);
  addRoute(app, node.config, indexRoute, async (request, reply) => {
    const vary = reply.getHeader('vary');
    void reply.header('Vary', vary ? `${String(vary)}, Accept` : 'Accept');
    if ((request.headers.accept ?? '').includes('text/html')) {
      return reply.type('text/html; charset=utf-8').send(endpointsPage(listing, requestBase(request)));
    }
    return listing;
  });
}
