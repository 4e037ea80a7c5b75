import type { FastifyInstance, FastifyReply } from 'fastify';
import { toHeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { keepStreamsAlive, openEventStream } from '../transports/sse-stream.js';
import { decodeCursor } from '../transports/stream-cursor.js';
import { admitReader, refusalBeforeToken } from './admission.js';
import type { AuditFeed } from './feed.js';
import { AuditSseLink } from './sse-link.js';

/** The Server-Sent Events twin of `/ws/audit`. */
export const AUDIT_SSE_PATH = '/api/v1/audit/events';

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
    this.keepAlive = keepStreamsAlive(this.links, node.config.heartbeat.interval);
  }

  close(): void {
    clearInterval(this.keepAlive);
  }

  private async open(raw: FastifyReply['raw']['req'], reply: FastifyReply) {
    const node = this.node;
    const url = new URL(raw.url ?? '/', 'http://localhost');
    const where = { transport: 'sse', path: url.pathname };
    let admitted;
    try {
      const early = refusalBeforeToken(node, raw, where);
      if (early) throw early;
      admitted = await admitReader(node, this.feed, raw, url, where, ['lastEventId']);
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'audit');
      return reply.code(refusal.kind.status).send({ error: refusal.toBody() });
    }
    const lastEventId = (raw.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('lastEventId') ?? undefined;
    const since = lastEventId ? decodeCursor(lastEventId, 1)?.positions[0] : undefined;

    reply.hijack();
    const res = reply.raw;
    openEventStream(res, raw.headers.origin);
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
