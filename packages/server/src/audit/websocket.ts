import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, type StreamPosition } from '@herald/protocol';
import { describeIssue } from '@herald/protocol/schema';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { ERRORS, HeraldError, toHeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { TokenBucket } from '../core/rate-limiter.js';
import { Heartbeat } from '../transports/heartbeat.js';
import { refuseUpgrade } from '../transports/raw-response.js';
import { admitReader, refusalBeforeToken, type Admission } from './admission.js';
import type { AuditFeed } from './feed.js';
import { auditFilter, type AuditFilter } from './filter.js';
import { feedPosition, positionFromQuery } from './position.js';
import type { AuditReader } from './reader.js';
import { AuditWebSocketLink } from './ws-link.js';

/** Frames a reader sends are small: a filter and a position. */
const MAX_FRAME_BYTES = 16_384;

/** `{"type":"subscribe","filter":{...},"since":{"epoch","offset"}}`: restarts the stream with this filter. */
const subscribeFrame = z.strictObject({ type: z.literal('subscribe'), filter: auditFilter.optional(), since: feedPosition.optional() });

interface Admitted extends Admission {
  since: StreamPosition | undefined;
}

/**
 * `/ws/audit`: the audit feed over WebSocket. The token comes with the upgrade (`?token=` or
 * `Authorization: Bearer`); filters and a resume position may too. A bad token closes with 4001,
 * a token without the admin role (or a tenant admin asking for another tenant) with 4003, a bad
 * filter with 4000, each after an `error` frame saying why.
 */
export class AuditWebSocket {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES, clientTracking: false });
  private readonly heartbeat: Heartbeat;
  private readonly links = new Set<AuditWebSocketLink>();

  constructor(
    private readonly node: Node,
    private readonly feed: AuditFeed,
  ) {
    this.heartbeat = new Heartbeat(node.config.heartbeat.interval, node.config.heartbeat.timeout);
  }

  handles(path: string): boolean {
    return path === this.feed.config.path;
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const node = this.node;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const where = { transport: 'websocket', path: url.pathname };
    const early = refusalBeforeToken(node, req, where);
    if (early) return refuseUpgrade(socket, early.kind.status, early.code, early.message);
    let admitted: Admitted | HeraldError;
    try {
      admitted = { ...(await admitReader(node, this.feed, req, url, where, ['epoch', 'offset'])), since: positionFromQuery(url.searchParams) };
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'audit upgrade');
      // A full feed can still be told with a status, before the upgrade.
      if (refusal.kind === ERRORS.routeFull) return refuseUpgrade(socket, refusal.kind.status, refusal.code, refusal.message);
      admitted = refusal;
    }
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, admitted));
  }

  close(): void {
    this.heartbeat.stop();
  }

  private accept(ws: WebSocket, admitted: Admitted | HeraldError): void {
    const link = new AuditWebSocketLink(ws, this.feed.config.sendQueueBytes);
    ws.on('error', (err) => this.node.logger.debug({ err: err.message }, 'audit websocket error'));
    if (admitted instanceof HeraldError) {
      link.sendError(admitted.toBody());
      return link.close(admitted.kind.close, admitted.message);
    }
    let reader: AuditReader;
    try {
      reader = this.feed.admit(admitted.identity, link, admitted.scope);
    } catch (err) {
      const refusal = toHeraldError(err, this.node.logger, 'audit');
      return link.close(refusal.kind.close, refusal.message);
    }
    link.reader = reader;
    this.links.add(link);
    this.heartbeat.add(link);
    const rate = this.node.config.limits.messageRate;
    const bucket = new TokenBucket(rate.perSecond, rate.burst);
    ws.on('pong', () => (link.lastSeen = Date.now()));
    ws.on('message', (data: Buffer) => {
      link.lastSeen = Date.now();
      if (!bucket.take()) return link.close(ERRORS.rateLimited.close, 'too many messages');
      this.onFrame(reader, link, data);
    });
    ws.on('close', () => {
      this.links.delete(link);
      this.heartbeat.delete(link);
      reader.closed();
    });
    this.run(reader, link, admitted.filter, admitted.since);
  }

  private onFrame(reader: AuditReader, link: AuditWebSocketLink, data: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8'));
    } catch {
      return link.sendError({ code: ErrorCode.BadRequest, message: 'frames are JSON objects' });
    }
    const type = (value as { type?: unknown } | null)?.type;
    if (type !== 'subscribe') {
      const named = typeof type === 'string' ? `unknown frame type ${JSON.stringify(type.slice(0, 64))}` : 'frame has no type';
      return link.sendError({ code: ErrorCode.UnknownFrame, message: `${named}: the audit feed takes subscribe frames`, field: 'type' });
    }
    const parsed = subscribeFrame.safeParse(value);
    if (!parsed.success) return link.sendError({ code: ErrorCode.BadRequest, ...describeIssue(parsed.error) });
    const filter = parsed.data.filter ?? {};
    try {
      this.feed.scopeOf(reader.identity, filter, { transport: 'websocket', path: this.feed.config.path });
    } catch (err) {
      return link.sendError(toHeraldError(err, this.node.logger, 'audit').toBody());
    }
    this.run(reader, link, filter, parsed.data.since);
  }

  /** (Re)starts the reader's stream; an engine that cannot serve closes the connection to retry. */
  private run(reader: AuditReader, link: AuditWebSocketLink, filter: AuditFilter, since: StreamPosition | undefined): void {
    reader.start(filter, since).catch((err: unknown) => {
      const refusal = toHeraldError(err, this.node.logger, 'audit', { unavailable: 'audit feed unavailable, reconnect', kind: 'subscribeUnavailable' });
      link.sendError(refusal.toBody());
      reader.close(refusal.kind.close, refusal.message);
    });
  }
}
