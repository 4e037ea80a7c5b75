import { eventNameProblem } from '@herald/protocol';
import { channelKey } from '../engine.js';
import type { Identity } from '../auth/identity.js';
import type { LockHolder, LockState } from '../engine.js';
import type { Logger } from '../logger.js';
import { badRequest, limitExceeded } from './errors.js';
import type { LifecycleBus } from './events.js';
import type { PublishOutcome, PublishRequest } from './publishing.js';

/** What a connection's locks need of the node: the lock store, the channel to announce on, the bus. */
export interface LockHost {
  readonly logger: Logger;
  readonly events: LifecycleBus;
  acquireLock(key: string, holder: LockHolder, ttlMs: number): Promise<{ acquired: boolean; state: LockState }>;
  refreshLock(key: string, connectionId: string, ttlMs: number): Promise<boolean>;
  releaseLock(key: string, connectionId: string): Promise<boolean>;
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

interface HeldLock {
  channel: string;
  name: string;
  ttlMs: number;
  refreshedAt: number;
}

export interface LockAnswer {
  acquired: boolean;
  holder: { userId: string; info?: Record<string, unknown> };
  expiresAt: number;
}

/**
 * One connection's soft locks. Each lock is announced on its channel: `lock:acquired` and
 * `lock:released` publications carry `{ name, userId, info?, expiresAt? , reason? }`.
 */
export class SessionLocks {
  private readonly held = new Map<string, HeldLock>();

  constructor(private readonly host: LockHost, private readonly session: LockOwner) {}

  get size(): number {
    return this.held.size;
  }

  async lock(channel: string, name: string, ttlMs: number): Promise<LockAnswer> {
    const problem = eventNameProblem(name);
    if (problem) throw badRequest(problem.replace('event', 'lock name'), 'name');
    const key = this.key(channel, name);
    if (!this.held.has(key) && this.held.size >= MAX_LOCKS) throw limitExceeded(`at most ${MAX_LOCKS} locks per connection`);
    const { identity } = this.session;
    const info = Object.keys(identity.info).length > 0 ? identity.info : undefined;
    const { acquired, state } = await this.host.acquireLock(key, { connectionId: this.session.id, userId: identity.userId, ...(info ? { info } : {}) }, ttlMs);
    const answer: LockAnswer = { acquired, holder: { userId: state.holder.userId, ...(state.holder.info ? { info: state.holder.info } : {}) }, expiresAt: state.expiresAt };
    if (!acquired) return answer;
    const isNew = !this.held.has(key);
    this.held.set(key, { channel, name, ttlMs, refreshedAt: Date.now() });
    if (isNew) await this.announce(channel, 'lock:acquired', { name, userId: identity.userId, ...(info ? { info } : {}), expiresAt: state.expiresAt });
    this.emit(isNew ? 'acquired' : 'refreshed', channel, name);
    return answer;
  }

  async unlock(channel: string, name: string): Promise<{ released: boolean }> {
    const key = this.key(channel, name);
    this.held.delete(key);
    const released = await this.host.releaseLock(key, this.session.id);
    if (released) {
      await this.announce(channel, 'lock:released', { name, userId: this.session.identity.userId, reason: 'released' });
      this.emit('released', channel, name, 'released');
    }
    return { released };
  }

  /** Extends the locks due for it (a third of their TTL since the last refresh); forgets lost ones. */
  async refreshDue(now: number): Promise<void> {
    for (const [key, lock] of this.held) {
      if (now - lock.refreshedAt < lock.ttlMs / 3) continue;
      lock.refreshedAt = now;
      const kept = await this.host.refreshLock(key, this.session.id, lock.ttlMs).catch(() => true);
      if (!kept) this.held.delete(key);
      else this.emit('refreshed', lock.channel, lock.name);
    }
  }

  /** Releases every lock as the connection leaves. */
  async releaseAll(): Promise<void> {
    const held = [...this.held];
    this.held.clear();
    for (const [key, lock] of held) {
      try {
        if (await this.host.releaseLock(key, this.session.id)) {
          await this.announce(lock.channel, 'lock:released', { name: lock.name, userId: this.session.identity.userId, reason: 'disconnected' });
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

  private async announce(channel: string, event: string, data: Record<string, unknown>): Promise<void> {
    await this.host.publish(this.session.tenant, { channels: [channel], event, data }, 'api');
  }

  private emit(action: 'acquired' | 'refreshed' | 'released', channel: string, name: string, reason?: string): void {
    const { tenant, id: connectionId, identity } = this.session;
    this.host.events.emit('lock', { action, tenant, channel, name, connectionId, userId: identity.userId, ...(reason ? { reason } : {}) });
  }
}
