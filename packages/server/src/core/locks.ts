import { eventNameProblem } from '@herald/protocol';
import { channelKey } from '../engine.js';
import type { Identity } from '../auth/identity.js';
import type { HistoryPage, HistoryQuery, LockHolder, LockState } from '../engine.js';
import type { ChannelRuleConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { badRequest, limitExceeded } from './errors.js';
import type { LifecycleBus } from './events.js';
import { DEFAULT_LOCK_ANNOUNCEMENT, defaultLockData, fillTemplate, lastFields, type LockAnnouncement, type LockChange, type LockFacts } from './lock-announcement.js';
import type { PublishOutcome, PublishRequest } from './publishing.js';

/** What a connection's locks need of the node: the lock store, the channel to announce on, the bus. */
export interface LockHost {
  readonly logger: Logger;
  readonly events: LifecycleBus;
  acquireLock(key: string, holder: LockHolder, ttlMs: number): Promise<{ acquired: boolean; state: LockState }>;
  refreshLock(key: string, connectionId: string, ttlMs: number): Promise<boolean>;
  releaseLock(key: string, connectionId: string): Promise<boolean>;
  lockState(key: string): Promise<LockState | undefined>;
  /** A channel's stored history (entries that cannot be read are left out and listed); also for an announcement's `{last.FIELD}`. */
  history(key: string, query: HistoryQuery): Promise<HistoryPage>;
  publish(tenant: string, request: PublishRequest, source: 'api' | 'client'): Promise<PublishOutcome>;
}

/** The connection that holds the locks. */
export interface LockOwner {
  readonly id: string;
  readonly tenant: string;
  readonly identity: Identity;
}

/** Locks one connection may hold at once. */
const MAX_LOCKS = 32;

/** A channel rule's `locks`. */
export type LockRule = NonNullable<ChannelRuleConfig['locks']>;

interface HeldLock {
  channel: string;
  name: string;
  ttlMs: number;
  refreshedAt: number;
  announcement: LockAnnouncement;
}

export interface LockAnswer {
  acquired: boolean;
  holder: { userId: string; info?: Record<string, unknown> };
  expiresAt: number;
}

/**
 * One connection's soft locks. Changes are announced on the lock's channel as its rule's
 * `announce` says; by default `lock:acquired` and `lock:released` publications carry
 * `{ name, userId, info?, expiresAt?, reason? }`.
 */
export class SessionLocks {
  /** Made on the first lock: most connections never hold one, and an idle connection should cost little. */
  private heldByKey: Map<string, HeldLock> | undefined;

  private get held(): Map<string, HeldLock> {
    return (this.heldByKey ??= new Map());
  }

  constructor(private readonly host: LockHost, private readonly session: LockOwner) {}

  get size(): number {
    return this.heldByKey?.size ?? 0;
  }

  /** The locks this connection holds, each with when it ends unless refreshed (its last refresh plus its TTL). */
  list(): { channel: string; name: string; expiresAt: number }[] {
    return [...(this.heldByKey?.values() ?? [])].map((l) => ({ channel: l.channel, name: l.name, expiresAt: l.refreshedAt + l.ttlMs }));
  }

  async lock(channel: string, name: string, rule: LockRule): Promise<LockAnswer> {
    const problem = eventNameProblem(name);
    if (problem) throw badRequest(problem.replace('event', 'lock name'), 'name');
    const key = this.key(channel, name);
    if (!this.held.has(key) && this.held.size >= MAX_LOCKS) throw limitExceeded(`at most ${MAX_LOCKS} locks per connection`);
    const { identity } = this.session;
    const info = Object.keys(identity.info).length > 0 ? identity.info : undefined;
    const ttlMs = rule.ttl;
    const { acquired, state } = await this.host.acquireLock(key, { connectionId: this.session.id, userId: identity.userId, ...(info ? { info } : {}) }, ttlMs);
    const answer: LockAnswer = { acquired, holder: { userId: state.holder.userId, ...(state.holder.info ? { info: state.holder.info } : {}) }, expiresAt: state.expiresAt };
    if (!acquired) return answer;
    const isNew = !this.held.has(key);
    const lock: HeldLock = { channel, name, ttlMs, refreshedAt: Date.now(), announcement: rule.announce ?? DEFAULT_LOCK_ANNOUNCEMENT };
    this.held.set(key, lock);
    await this.announce(lock, isNew ? 'acquired' : 'refreshed', { expiresAt: state.expiresAt });
    this.emit(isNew ? 'acquired' : 'refreshed', channel, name);
    return answer;
  }

  async unlock(channel: string, name: string, rule?: LockRule): Promise<{ released: boolean }> {
    const key = this.key(channel, name);
    const lock = this.held.get(key) ?? { channel, name, ttlMs: 0, refreshedAt: 0, announcement: rule?.announce ?? DEFAULT_LOCK_ANNOUNCEMENT };
    this.held.delete(key);
    const released = await this.host.releaseLock(key, this.session.id);
    if (released) {
      await this.announce(lock, 'released', { reason: 'released' });
      this.emit('released', channel, name, 'released');
    }
    return { released };
  }

  /**
   * Extends the locks due for it (a third of their TTL since the last refresh). A lock the store
   * no longer has for this connection expired (its refreshes did not land in time): it is
   * forgotten, and announced released unless someone else holds it by now.
   */
  async refreshDue(now: number): Promise<void> {
    for (const [key, lock] of this.held) {
      if (now - lock.refreshedAt < lock.ttlMs / 3) continue;
      lock.refreshedAt = now;
      const kept = await this.host.refreshLock(key, this.session.id, lock.ttlMs).catch(() => true);
      if (kept) {
        this.emit('refreshed', lock.channel, lock.name);
        await this.announce(lock, 'refreshed', { expiresAt: now + lock.ttlMs }).catch((err) => this.host.logger.warn({ err, channel: lock.channel }, 'lock refresh not announced'));
        continue;
      }
      this.held.delete(key);
      try {
        if (await this.host.lockState(key)) continue;
        await this.announce(lock, 'released', { reason: 'expired' });
        this.emit('released', lock.channel, lock.name, 'expired');
      } catch (err) {
        this.host.logger.warn({ err, channel: lock.channel }, 'lock expiry not announced');
      }
    }
  }

  /** Releases every lock as the connection leaves. */
  async releaseAll(): Promise<void> {
    const held = [...this.held];
    this.held.clear();
    for (const [key, lock] of held) {
      try {
        if (await this.host.releaseLock(key, this.session.id)) {
          await this.announce(lock, 'released', { reason: 'disconnected' });
          this.emit('released', lock.channel, lock.name, 'disconnected');
        }
      } catch (err) {
        this.host.logger.warn({ err, channel: lock.channel }, 'lock release failed; it ends with its TTL');
      }
    }
  }

  private key(channel: string, name: string): string {
    return `${channelKey(this.session.tenant, channel)}#${name}`;
  }

  /** Publishes a change in the channel's announcement shape, when the rule announces that change. */
  private async announce(lock: HeldLock, state: LockChange, extra: { expiresAt?: number; reason?: string }): Promise<void> {
    const event = lock.announcement.events[state];
    if (!event) return;
    const { identity, tenant } = this.session;
    const info = Object.keys(identity.info).length > 0 ? identity.info : undefined;
    const facts: LockFacts = { name: lock.name, state, userId: identity.userId, ...(info ? { info } : {}), ...extra };
    const template = lock.announcement.data;
    const data = template === undefined ? defaultLockData(facts) : fillTemplate(template, facts, await this.latest(lock.channel, template));
    await this.host.publish(tenant, { channels: [lock.channel], event, data }, 'api');
  }

  /** The data of the channel's latest publication, when the template reads `{last.FIELD}` (e.g. seed 004's revision). */
  private async latest(channel: string, template: unknown): Promise<Record<string, unknown>> {
    if (lastFields(template).length === 0) return {};
    const page = await this.host.history(channelKey(this.session.tenant, channel), { limit: 1 });
    const data = page.publications.at(-1)?.data;
    return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  }

  private emit(action: 'acquired' | 'refreshed' | 'released', channel: string, name: string, reason?: string): void {
    const { tenant, id: connectionId, identity } = this.session;
    this.host.events.emit('lock', { action, tenant, channel, name, connectionId, userId: identity.userId, ...(reason ? { reason } : {}) });
  }
}
