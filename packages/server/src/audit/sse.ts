import { ErrorCode } from '@herald/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { toHeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { decodeCursor } from '../transports/stream-cursor.js';
import { originAllowed, upgradeToken } from '../transports/websocket.js';
import type { AuditFeed } from './feed.js';
import { filterFromQuery } from './filter.js';
import { AuditSseLink } from './sse-link.js';

/** The Server-Sent Events twin of `/ws/audit`. */
export const AUDIT_SSE_PATH = '/api/v1/audit/events';

function fail(reply: FastifyReply, status: number, code: string, message: string, field?: string) {
  return reply.code(status).send({ error: { code, message, ...(field ? { field } : {}) } });
}

/**
 * `GET /api/v1/audit/events`: the audit feed as Server-Sent Events, with the same token, filters
 * and refusals as the WebSocket (answered with 401, 403, 400 or 503 before the stream starts), and
 * `Last-Event-ID` resume.
 */
export class AuditSse {
  private readonly links = new Set<AuditSseLink>();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    private readonly node: Node,
    private readonly feed: AuditFeed,
    app: FastifyInstance,
  ) {
    app.get(AUDIT_SSE_PATH, (request, reply) => this.open(request.raw, reply));
    // Comment lines keep proxies from closing idle streams; clients ignore them.
    this.keepAlive = setInterval(() => {
      for (const link of this.links) link.comment('keep-alive');
    }, Math.min(node.config.heartbeat.interval, 15_000));
    this.keepAlive.unref();
  }

  close(): void {
    clearInterval(this.keepAlive);
  }

  private async open(raw: FastifyReply['raw']['req'], reply: FastifyReply) {
    const node = this.node;
    const url = new URL(raw.url ?? '/', 'http://localhost');
    const where = { transport: 'sse', path: url.pathname };
    if (!originAllowed(node.config.server.corsOrigins, raw.headers.origin)) {
      node.events.emit('denial', { reason: 'origin', ...where });
      return fail(reply, 403, ErrorCode.Forbidden, 'origin not allowed');
    }
    if (!node.accepting) return fail(reply, 503, ErrorCode.Unavailable, 'server is shutting down');
    let admitted;
    try {
      const identity = await node.handshake.authenticate(upgradeToken(raw, url), where);
      const filter = filterFromQuery(url.searchParams, ['token', 'lastEventId']);
      admitted = { identity, filter, scope: this.feed.scopeOf(identity, filter, where) };
      this.feed.checkRoom();
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'audit');
      return fail(reply, refusal.kind.status, refusal.code, refusal.message, refusal.field);
    }
    const lastEventId = (raw.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('lastEventId') ?? undefined;
    const since = lastEventId ? decodeCursor(lastEventId, 1)?.positions[0] : undefined;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...(raw.headers.origin ? { 'access-control-allow-origin': raw.headers.origin, vary: 'Origin' } : {}),
    });
    res.flushHeaders();
    const link = new AuditSseLink(res, this.feed.config.sendQueueBytes);
    const reader = this.feed.admit(admitted.identity, link, admitted.scope);
    link.reader = reader;
    this.links.add(link);
    res.on('close', () => {
      this.links.delete(link);
      reader.closed();
    });
    if (lastEventId && !since) link.sendEvent('not_recovered', { reason: 'invalid_cursor', message: 'Last-Event-ID is not a position of the audit feed; starting from the kept records' });
    try {
      await reader.start(admitted.filter, since);
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'audit', { unavailable: 'audit feed unavailable, reconnect', kind: 'subscribeUnavailable' });
      link.sendEvent('error', refusal.toBody());
      reader.close(refusal.kind.close, refusal.message);
    }
  }
}
