import type { FastifyInstance, FastifyReply } from 'fastify';
import { toHeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { keepStreamsAlive, openEventStream } from '../transports/sse-stream.js';
import { decodeCursor } from '../transports/stream-cursor.js';
import { admitReader, refusalBeforeToken } from './admission.js';
import type { AuditFeed } from './feed.js';
import type { AuditReader } from './reader.js';
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
    const res = reply.raw;
    const link = new AuditSseLink(res, this.feed.config.sendQueueBytes);
    let reader: AuditReader | undefined;
    let gone = false;
    // Listened to before the token check: a client gone meanwhile must not leave its reader behind.
    res.on('close', () => {
      gone = true;
      this.links.delete(link);
      reader?.closed();
    });
    let filter;
    try {
      const early = refusalBeforeToken(node, raw, where);
      if (early) throw early;
      const admitted = await admitReader(node, this.feed, raw, url, where, ['lastEventId']);
      filter = admitted.filter;
      // Before the stream starts, so that a feed that filled up meanwhile is still answered 503.
      reader = this.feed.admit(admitted.identity, link, admitted.scope);
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'audit');
      return reply.code(refusal.kind.status).send({ error: refusal.toBody() });
    }
    const lastEventId = (raw.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('lastEventId') ?? undefined;
    const since = lastEventId ? decodeCursor(lastEventId, 1)?.positions[0] : undefined;

    if (gone) return reader.closed();
    reply.hijack();
    openEventStream(res, raw.headers.origin);
    link.reader = reader;
    this.links.add(link);
    if (lastEventId && !since) link.sendEvent('not_recovered', { reason: 'invalid_cursor', message: 'Last-Event-ID is not a position of the audit feed; starting from the kept records' });
    try {
      await reader.start(filter, since);
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'audit', { unavailable: 'audit feed unavailable, reconnect', kind: 'subscribeUnavailable' });
      link.sendEvent('error', refusal.toBody());
      reader.close(refusal.kind.close, refusal.message);
    }
  }
}
