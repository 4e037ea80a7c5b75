import { CloseCode, ErrorCode, type RecoverySince, type StreamPosition } from '@herald/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/identity.js';
import type { RouteConfig } from '../config/schema.js';
import { DISCONNECTS, toHeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { flushInOrder, type PendingSubscribe, type Session } from '../core/session.js';
import { channelFor } from './routes.js';
import { decodeCursor } from './stream-cursor.js';
import { SseLink, sseDataFormat, sseEnvelopeFormat } from './sse-link.js';
import { keepStreamsAlive, openEventStream } from './sse-stream.js';
import { upgradeToken, originAllowed } from './websocket.js';

/** Most channels one generic `/sse` stream may carry. */
const MAX_SSE_CHANNELS = 32;

function routePathToFastify(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

function fail(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
}

/**
 * Server-Sent Events: `GET /sse?channels=a,b` and every configured route, when the request
 * accepts `text/event-stream`. Each event's `id:` is a cursor over all the stream's channels,
 * so `Last-Event-ID` resumes exactly; what cannot be resumed is announced by a
 * `not_recovered` event, never skipped silently.
 */
export class SseTransport {
  private readonly links = new Set<SseLink>();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(private readonly node: Node, app: FastifyInstance) {
    app.get('/sse', (request, reply) => {
      const raw = (request.query as Record<string, unknown>).channels;
      const channels = typeof raw === 'string' ? raw.split(',').filter(Boolean) : [];
      if (channels.length === 0) return fail(reply, 400, ErrorCode.BadRequest, 'channels: give one or more channels, comma-separated');
      if (channels.length > MAX_SSE_CHANNELS) return fail(reply, 400, ErrorCode.BadRequest, `channels: at most ${MAX_SSE_CHANNELS}`);
      if (new Set(channels).size !== channels.length) return fail(reply, 400, ErrorCode.BadRequest, 'channels: listed twice');
      return this.open(request, reply, channels, undefined);
    });
    for (const route of node.config.routes) {
      if (route.channel === undefined) continue;
      app.get(routePathToFastify(route.path), (request, reply) => {
        const params = request.params as Record<string, string>;
        // {userId} and {tenant} that are not path parameters are filled once the token is read.
        const channel = route.channel!.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => params[name] ?? whole);
        return this.open(request, reply, [channel], route);
      });
    }
    this.keepAlive = keepStreamsAlive(this.links, node.config.heartbeat.interval);
  }

  close(): void {
    clearInterval(this.keepAlive);
    for (const link of this.links) link.close(DISCONNECTS.shutdown.close, DISCONNECTS.shutdown.reason);
  }

  private async open(request: FastifyRequest, reply: FastifyReply, channels: string[], route: RouteConfig | undefined) {
    const node = this.node;
    const accept = request.headers.accept ?? '';
    if (route && !accept.includes('text/event-stream')) {
      return fail(reply, 406, ErrorCode.BadRequest, 'this route serves Server-Sent Events: send Accept: text/event-stream');
    }
    if (!originAllowed(node.config.server.corsOrigins, request.headers.origin)) {
      node.events.emit('denial', { reason: 'origin', transport: 'sse' });
      return fail(reply, 403, ErrorCode.Forbidden, 'origin not allowed');
    }
    if (!node.accepting) return fail(reply, 503, ErrorCode.Unavailable, 'server is shutting down');
    const url = new URL(request.url, 'http://localhost');
    const where = { transport: 'sse', path: url.pathname };
    let identity: Identity;
    try {
      identity = await node.handshake.authenticate(upgradeToken(request.raw, url), where);
      // The route's limit can still be answered with a status; the tenant's is told in the stream.
      if (route) await node.handshake.checkRoute(identity, { routeLimit: { route, channel: channelFor(channels[0], identity) }, ...where });
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'sse');
      return fail(reply, refusal.kind.status, refusal.code, refusal.message);
    }
    channels = channels.map((c) => channelFor(c, identity));
    const lastEventId = (request.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('lastEventId') ?? undefined;
    const resume = lastEventId ? decodeCursor(lastEventId, channels.length) : undefined;

    const format = route?.format === 'data' ? sseDataFormat : sseEnvelopeFormat;
    reply.hijack();
    const res = reply.raw;
    openEventStream(res, request.headers.origin);
    const positions: StreamPosition[] = channels.map(() => ({ epoch: '', offset: 0 }));
    const link = new SseLink(res, format, channels, positions, node.config.limits.sendQueueBytes);
    this.links.add(link);
    let session: Session | undefined;
    // Listened to before the session opens: a client gone meanwhile must not leave its session behind.
    res.on('close', () => {
      this.links.delete(link);
      session?.closed(CloseCode.Normal);
    });
    try {
      // A cursor names the connection it came from: the same reader coming back replaces it.
      session = await node.handshake.open(identity, link, { ...(route ? { route: route.path } : {}), ...(resume?.connectionId ? { replaces: resume.connectionId } : {}) });
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'session', { unavailable: 'service unavailable, reconnect' });
      link.sendEvent('error', refusal.toBody());
      this.links.delete(link);
      return link.close(refusal.kind.close, refusal.message);
    }
    link.session = session;
    if (!link.open) {
      this.links.delete(link);
      return session.closed(CloseCode.Normal);
    }
    if (lastEventId && !resume) {
      link.sendEvent('not_recovered', { reason: 'invalid_cursor', message: 'Last-Event-ID is not a cursor of this stream; starting from now' });
    }
    const pending: PendingSubscribe[] = [];
    for (const [i, channel] of channels.entries()) {
      const since: RecoverySince | undefined = resume?.positions[i];
      try {
        const sub = await session.subscribe(channel, since);
        // Replayed publications advance the cursor from where the replay starts.
        link.setPosition(channel, sub.start);
        const recovery = sub.result.recovery;
        if (recovery && !recovery.recovered) link.sendEvent('not_recovered', { channel, ...recovery });
        pending.push(sub);
      } catch (err) {
        const refusal = toHeraldError(err, node.logger, 'subscribe', { unavailable: 'service unavailable, reconnect', kind: 'subscribeUnavailable' });
        link.sendEvent('error', { channel, ...refusal.toBody() });
        return link.close(refusal.kind.close, refusal.message);
      }
    }
    link.sendOpening(format === sseEnvelopeFormat ? { connectionId: session.id, userId: identity.userId, tenant: identity.tenant, channels } : undefined);
    session.ready();
    flushInOrder(link, pending);
  }
}
