import type { PresenceUser } from '@herald/protocol';
import type { ChannelKey, ConnectionEntry, ConnectionRegistry, ExpiredEntry, PresenceEntry, PresenceJoined, PresenceLeft, PresenceStore } from '../engine.js';
import { type RedisClient, type ScriptCall, defineScript } from './redis-client.js';
import type { RedisKeys } from './redis-keys.js';
import {
  CONNECTIONS_ADD_LUA,
  CONNECTIONS_COUNT_LUA,
  CONNECTIONS_REFRESH_LUA,
  CONNECTIONS_REMOVE_LUA,
  PRESENCE_COUNT_LUA,
  PRESENCE_JOIN_LUA,
  PRESENCE_LEAVE_LUA,
  PRESENCE_LIST_LUA,
  PRESENCE_REFRESH_LUA,
} from './redis-presence-scripts.js';

/** Entries per refresh script call, so one call never holds Redis for long. */
const REFRESH_BATCH = 500;

/** A node's own entries, grouped (by channel or tenant), which it keeps alive in Redis. */
class LocalEntries<E> {
  readonly groups = new Map<string, Map<string, E>>();

  add(group: string, id: string, entry: E): void {
    let entries = this.groups.get(group);
    if (!entries) this.groups.set(group, (entries = new Map()));
    entries.set(id, entry);
  }

  delete(group: string, id: string): void {
    const entries = this.groups.get(group);
    if (!entries?.delete(id)) return;
    if (entries.size === 0) this.groups.delete(group);
  }
}

function batches<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += REFRESH_BATCH) out.push(items.slice(i, i + REFRESH_BATCH));
  return out;
}

/** A gone list's items (`[user, info JSON or '']`, see redis-presence-scripts.ts). */
function decodeGone(items: string[]): { userId: string; info?: Record<string, unknown> }[] {
  return items.map((item) => {
    const [userId, info] = JSON.parse(item) as [string, string];
    return { userId, ...(info ? { info: JSON.parse(info) as Record<string, unknown> } : {}) };
  });
}

/**
 * See PresenceStore. Entries expire `ttlMs` after the owning node last refreshed them, so a
 * crashed node's connections leave presence on their own; `refresh()` is the node's heartbeat.
 * A join is recorded locally before it is sent, and a leave forgotten before, so a refresh never
 * brings back a connection that left.
 */
export class RedisPresence implements PresenceStore {
  private readonly local = new LocalEntries<PresenceEntry>();
  private readonly joinScript: ScriptCall;
  private readonly leaveScript: ScriptCall;
  private readonly listScript: ScriptCall;
  private readonly countScript: ScriptCall;
  private readonly refreshScript: ScriptCall;

  constructor(redis: RedisClient, private readonly names: RedisKeys, private readonly ttlMs: number) {
    this.joinScript = defineScript(redis, 'heraldPresenceJoin', PRESENCE_JOIN_LUA, 3);
    this.leaveScript = defineScript(redis, 'heraldPresenceLeave', PRESENCE_LEAVE_LUA, 3);
    this.listScript = defineScript(redis, 'heraldPresenceList', PRESENCE_LIST_LUA, 3);
    this.countScript = defineScript(redis, 'heraldPresenceCount', PRESENCE_COUNT_LUA, 3);
    this.refreshScript = defineScript(redis, 'heraldPresenceRefresh', PRESENCE_REFRESH_LUA, 3);
  }

  async join(key: ChannelKey, entry: PresenceEntry): Promise<PresenceJoined> {
    this.local.add(key, entry.connectionId, entry);
    try {
      const flags = Number(await this.joinScript(...this.keysOf(key), this.ttlMs, entry.connectionId, entry.userId, infoJson(entry)));
      return { first: (flags & 1) === 1, occupied: (flags & 2) === 2 };
    } catch (err) {
      this.local.delete(key, entry.connectionId);
      throw err;
    }
  }

  async leave(key: ChannelKey, entry: PresenceEntry): Promise<PresenceLeft> {
    this.local.delete(key, entry.connectionId);
    const flags = Number(await this.leaveScript(...this.keysOf(key), entry.connectionId));
    return { last: (flags & 1) === 1, vacated: (flags & 2) === 2 };
  }

  async list(key: ChannelKey): Promise<PresenceUser[]> {
    const flat = (await this.listScript(...this.keysOf(key))) as string[];
    const users = new Map<string, PresenceUser>();
    const user = (userId: string): PresenceUser => {
      let u = users.get(userId);
      if (!u) users.set(userId, (u = { userId, connections: 0 }));
      return u;
    };
    for (let i = 0; i < flat.length; i += 2) {
      const field = flat[i];
      if (field.startsWith('u:')) user(field.slice(2)).connections = Number(flat[i + 1]);
      else if (field.startsWith('i:')) user(field.slice(2)).info = JSON.parse(flat[i + 1]) as Record<string, unknown>;
    }
    // An info without a count would be a user already gone; never report zero connections.
    return [...users.values()].filter((u) => u.connections > 0);
  }

  async count(key: ChannelKey): Promise<number> {
    return Number(await this.countScript(...this.keysOf(key)));
  }

  /**
   * Pushes this node's entries' expiry forward and re-adds any that Redis lost. Reports, as soon
   * as Redis hands them over, the users whose last connection in a channel this node serves
   * expired since the last refresh anywhere.
   */
  async refresh(report: (entry: ExpiredEntry) => void): Promise<void> {
    for (const [key, entries] of [...this.local.groups]) {
      for (const batch of batches([...entries.values()])) {
        const args = batch.flatMap((e) => [e.connectionId, e.userId, infoJson(e)]);
        const gone = (await this.refreshScript(...this.keysOf(key), this.ttlMs, ...args)) as string[];
        for (const user of decodeGone(gone)) report({ kind: 'presence', key, user: { ...user, connections: 0 } });
      }
    }
  }

  private keysOf(key: ChannelKey): [string, string, string] {
    return [this.names.presence(key), this.names.presenceExpiry(key), this.names.presenceGone(key)];
  }
}

function infoJson(entry: PresenceEntry): string {
  return entry.info ? JSON.stringify(entry.info) : '';
}

/** See ConnectionRegistry. Kept alive like RedisPresence: entries expire unless refreshed. */
export class RedisConnections implements ConnectionRegistry {
  private readonly local = new LocalEntries<ConnectionEntry>();
  private readonly addScript: ScriptCall;
  private readonly removeScript: ScriptCall;
  private readonly countScript: ScriptCall;
  private readonly refreshScript: ScriptCall;

  constructor(redis: RedisClient, private readonly names: RedisKeys, private readonly ttlMs: number) {
    this.addScript = defineScript(redis, 'heraldConnectionsAdd', CONNECTIONS_ADD_LUA, 4);
    this.removeScript = defineScript(redis, 'heraldConnectionsRemove', CONNECTIONS_REMOVE_LUA, 4);
    this.countScript = defineScript(redis, 'heraldConnectionsCount', CONNECTIONS_COUNT_LUA, 4);
    this.refreshScript = defineScript(redis, 'heraldConnectionsRefresh', CONNECTIONS_REFRESH_LUA, 4);
  }

  async add(tenant: string, entry: ConnectionEntry): Promise<ConnectionEntry[]> {
    this.local.add(tenant, entry.connectionId, entry);
    try {
      const flat = (await this.addScript(
        ...this.keysOf(tenant),
        this.names.tenantUserPrefix(tenant),
        this.ttlMs,
        entry.connectionId,
        entry.userId,
        entry.connectedAt,
        announceJson(entry),
      )) as string[];
      const list: ConnectionEntry[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        list.push({ connectionId: flat[i], userId: entry.userId, connectedAt: Number(flat[i + 1]) });
      }
      return list;
    } catch (err) {
      this.local.delete(tenant, entry.connectionId);
      throw err;
    }
  }

  async remove(tenant: string, entry: ConnectionEntry): Promise<{ last: boolean }> {
    this.local.delete(tenant, entry.connectionId);
    const last = await this.removeScript(...this.keysOf(tenant), this.names.tenantUserPrefix(tenant), entry.connectionId);
    return { last: last === 1 };
  }

  async tenantCount(tenant: string): Promise<number> {
    return Number(await this.countScript(...this.keysOf(tenant), this.names.tenantUserPrefix(tenant)));
  }

  /**
   * Pushes this node's entries' expiry forward and re-adds any that Redis lost. Reports, as soon
   * as Redis hands them over, the users of the tenants this node serves whose last connection
   * expired since the last refresh anywhere.
   */
  async refresh(report: (entry: ExpiredEntry) => void): Promise<void> {
    for (const [tenant, entries] of [...this.local.groups]) {
      for (const batch of batches([...entries.values()])) {
        const args = batch.flatMap((e) => [e.connectionId, e.userId, e.connectedAt, announceJson(e)]);
        const gone = (await this.refreshScript(...this.keysOf(tenant), this.names.tenantUserPrefix(tenant), this.ttlMs, ...args)) as string[];
        for (const { userId, info } of decodeGone(gone)) report({ kind: 'user', tenant, userId, ...(info ? { announce: info } : {}) });
      }
    }
  }

  private keysOf(tenant: string): [string, string, string, string] {
    return [this.names.tenantConnections(tenant), this.names.tenantExpiry(tenant), this.names.tenantInfo(tenant), this.names.tenantGone(tenant)];
  }
}

function announceJson(entry: ConnectionEntry): string {
  return entry.announce ? JSON.stringify(entry.announce) : '';
}
