import type { Registry } from 'prom-client';
import type { Identity } from '../auth/identity.js';
import { DISCONNECTS, forbidden, HeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import type { AuditConfig } from './config.js';
import type { AuditFilter } from './filter.js';
import { auditMetrics, type AuditMetrics } from './metrics.js';
import { AuditRecorder } from './recorder.js';
import { listenForRecords, type AuditRecord } from './records.js';
import { AUDIT_CHANNEL, AUDIT_TENANT, AuditReader, type AuditLink } from './reader.js';

/** How often records the engine did not store are logged while that goes on. */
const UNPUBLISHED_LOG_INTERVAL_MS = 10_000;

/** The audit feed with its metrics on the node's registry, recording from now on. */
export function startAuditFeed(node: Node, registry: Registry): AuditFeed {
  const feed = new AuditFeed(node, node.config.audit, auditMetrics(registry));
  feed.start();
  return feed;
}

/**
 * The audit feed of one node: records the node's lifecycle events into the reserved audit
 * channel (batched per turn, through the node's publish path, so history, resume and the other
 * nodes' records come from the engine) and serves them to admin readers on any transport.
 *
 * @example
 * const feed = new AuditFeed(node, node.config.audit, auditMetrics(registry));
 * feed.start();
 */
export class AuditFeed {
  readonly readers = new Set<AuditReader>();
  private readonly recorder: AuditRecorder;
  private stopListening: (() => void) | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private lastWarned = 0;

  constructor(
    private readonly node: Node,
    readonly config: AuditConfig,
    private readonly metrics?: AuditMetrics,
  ) {
    this.recorder = new AuditRecorder((records) => this.store(records), config.maxQueuedRecords, (count, reason) => metrics?.dropped.inc({ reason }, count));
  }

  start(): void {
    this.node.reserveChannel(AUDIT_CHANNEL, { size: this.config.history.size, ttlMs: this.config.history.ttl });
    this.stopListening = listenForRecords(this.node.events, this.node.cluster.nodeId, (r) => this.recorder.add(r));
    // A reader's token expires as a connection's does (see Node's tick).
    this.ticker = setInterval(() => this.closeExpired(), 1000);
    this.ticker.unref();
  }

  /** Resolves once the records so far have been handed to the engine. */
  flushed(): Promise<void> {
    return this.recorder.flushed();
  }

  /**
   * Who the identity may read: every tenant (undefined) for an admin of the operator tenant,
   * else only its own. Throws `forbidden` for anyone else, or for a filter on another tenant.
   */
  scopeOf(identity: Identity, filter: AuditFilter, where: { transport: string; path: string }): string | undefined {
    const refuse = (message: string) => {
      this.node.events.emit('denial', { reason: 'subscribe_forbidden', ...where, tenant: identity.tenant, userId: identity.userId, detail: message });
      return forbidden(message);
    };
    if (!identity.roles.includes(this.config.adminRole)) throw refuse(`the audit feed is for the ${this.config.adminRole} role`);
    if (this.config.operatorTenant !== undefined && identity.tenant === this.config.operatorTenant) return undefined;
    if (filter.tenant !== undefined && filter.tenant !== identity.tenant) throw refuse(`an admin of tenant ${identity.tenant} sees only that tenant`);
    return identity.tenant;
  }

  /** Throws `routeFull` (503) when this node has its maximum of readers. */
  checkRoom(): void {
    if (this.readers.size >= this.config.maxReaders) throw new HeraldError('routeFull', `the audit feed has its maximum of ${this.config.maxReaders} readers on this node`);
  }

  /**
   * A reader for an admin the transport authenticated and scoped (see scopeOf), on its link;
   * the transport then calls `reader.start` with the filter.
   */
  admit(identity: Identity, link: AuditLink, scope: string | undefined): AuditReader {
    this.checkRoom();
    const reader = new AuditReader(this.node, identity, link, scope, (r, slow) => this.gone(r, slow));
    this.readers.add(reader);
    this.metrics?.readers.set(this.readers.size);
    return reader;
  }

  /** Stops recording and closes every reader (server shutdown). */
  close(): void {
    this.stopListening?.();
    if (this.ticker) clearInterval(this.ticker);
    for (const reader of [...this.readers]) reader.close(DISCONNECTS.shutdown.close, DISCONNECTS.shutdown.reason);
  }

  private gone(reader: AuditReader, slow: boolean): void {
    this.readers.delete(reader);
    this.metrics?.readers.set(this.readers.size);
    if (slow) this.metrics?.slowReaders.inc();
  }

  /** One engine call for the batch; resolves with how many records were not stored. */
  private async store(records: AuditRecord[]): Promise<number> {
    const outcomes = await this.node.publishReserved(records.map((data) => ({ tenant: AUDIT_TENANT, request: { channels: [AUDIT_CHANNEL], event: data.type, data } })));
    const failed = outcomes.filter((o) => 'error' in o).length;
    // Through an engine outage every batch fails: one line per interval says so, the metric counts them all.
    if (failed > 0 && Date.now() - this.lastWarned >= UNPUBLISHED_LOG_INTERVAL_MS) {
      this.lastWarned = Date.now();
      this.node.logger.warn({ event: 'audit_unpublished', records: failed }, 'audit records not stored');
    }
    return failed;
  }

  private closeExpired(): void {
    const now = Date.now();
    const tolerance = this.node.config.auth.jwt.clockTolerance;
    for (const reader of [...this.readers]) {
      const expiresAt = reader.identity.expiresAt;
      if (expiresAt !== undefined && expiresAt + tolerance <= now) reader.close(DISCONNECTS.tokenExpired.close, DISCONNECTS.tokenExpired.reason);
    }
  }
}
