import type { PresenceUser, RecoverySince } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { HeraldConfig } from '../config/schema.js';
import type { ChannelKey, HistoryPage, HistoryQuery, LockHolder, LockState, PresenceEntry } from '../engine.js';
import type { Logger } from '../logger.js';
import type { ChannelPolicy, ResolvedRule } from './channel-policy.js';
import type { LifecycleBus } from './events.js';
import type { HistoryReply, PublishOutcome, PublishRequest } from './publishing.js';
import type { Session } from './session.js';
import type { Subscription } from './subscription.js';

/**
 * What a session needs from its node: the rules, the channel registry, and the shared state
 * the engine keeps (history, presence, locks), without the engine itself. The node implements
 * it; tests can give a session a fake one.
 */
export interface SessionHost {
  readonly policy: ChannelPolicy;
  readonly limits: HeraldConfig['limits'];
  readonly logger: Logger;
  readonly events: LifecycleBus;

  /** Registers a subscription with the hub; resolves once its channel is live on this node. */
  attach(sub: Subscription): Promise<void>;
  detach(sub: Subscription): void;
  /** A channel's stored history (entries that cannot be read are left out and listed). */
  history(key: ChannelKey, query: HistoryQuery): Promise<HistoryPage>;
  /** History as a client may read it: its audience and the rule's `eventRoles` applied. */
  channelHistory(tenant: string, identity: Identity, channel: string, query: { limit?: number; since?: RecoverySince }, rule: ResolvedRule): Promise<HistoryReply>;

  joinPresence(key: ChannelKey, entry: PresenceEntry): Promise<{ first: boolean }>;
  leavePresence(key: ChannelKey, entry: PresenceEntry): Promise<{ last: boolean }>;
  countPresence(key: ChannelKey): Promise<number>;
  listPresence(key: ChannelKey): Promise<PresenceUser[]>;
  /** Tells every node's subscribers of the channel that a user arrived or left. */
  announce(kind: 'join' | 'leave', key: ChannelKey, user: PresenceUser): Promise<void>;

  publish(tenant: string, request: PublishRequest, source: 'api' | 'client'): Promise<PublishOutcome>;

  acquireLock(key: string, holder: LockHolder, ttlMs: number): Promise<{ acquired: boolean; state: LockState }>;
  refreshLock(key: string, connectionId: string, ttlMs: number): Promise<boolean>;
  releaseLock(key: string, connectionId: string): Promise<boolean>;

  /** Verifies a token (throws HeraldError `unauthorized` with the reason). */
  verify(token: string): Promise<Identity>;
  /** The connection ended: the node releases what it held. */
  closed(session: Session, code: number): void;
}
