import type { PresenceUser } from '@herald/protocol';
import type { ChannelKey, ConnectionEntry, ConnectionRegistry, PresenceEntry, PresenceJoined, PresenceLeft, PresenceStore } from '../engine.js';

interface ChannelUser {
  connections: Set<string>;
  info?: Record<string, unknown>;
}

/** See PresenceStore. One process only. */
export class MemoryPresence implements PresenceStore {
  private readonly channels = new Map<ChannelKey, Map<string, ChannelUser>>();

  async join(key: ChannelKey, entry: PresenceEntry): Promise<PresenceJoined> {
    let users = this.channels.get(key);
    const occupied = !users;
    if (!users) this.channels.set(key, (users = new Map()));
    let user = users.get(entry.userId);
    const first = !user;
    if (!user) users.set(entry.userId, (user = { connections: new Set(), info: entry.info }));
    user.connections.add(entry.connectionId);
    return { first, occupied };
  }

  async leave(key: ChannelKey, entry: PresenceEntry): Promise<PresenceLeft> {
    const users = this.channels.get(key);
    const user = users?.get(entry.userId);
    if (!users || !user || !user.connections.delete(entry.connectionId)) return { last: false, vacated: false };
    if (user.connections.size > 0) return { last: false, vacated: false };
    users.delete(entry.userId);
    if (users.size > 0) return { last: true, vacated: false };
    this.channels.delete(key);
    return { last: true, vacated: true };
  }

  async list(key: ChannelKey): Promise<PresenceUser[]> {
    const users = this.channels.get(key);
    if (!users) return [];
    return [...users].map(([userId, u]) => ({ userId, connections: u.connections.size, ...(u.info ? { info: u.info } : {}) }));
  }

  async count(key: ChannelKey): Promise<number> {
    let n = 0;
    for (const user of this.channels.get(key)?.values() ?? []) n += user.connections.size;
    return n;
  }
}

/** See ConnectionRegistry. One process only. */
export class MemoryConnections implements ConnectionRegistry {
  private readonly tenants = new Map<string, Map<string, ConnectionEntry[]>>();
  private readonly counts = new Map<string, number>();

  async add(tenant: string, entry: ConnectionEntry): Promise<ConnectionEntry[]> {
    let users = this.tenants.get(tenant);
    if (!users) this.tenants.set(tenant, (users = new Map()));
    let list = users.get(entry.userId);
    if (!list) users.set(entry.userId, (list = []));
    list.push(entry);
    list.sort((a, b) => a.connectedAt - b.connectedAt);
    this.counts.set(tenant, (this.counts.get(tenant) ?? 0) + 1);
    return list.slice();
  }

  async remove(tenant: string, entry: ConnectionEntry): Promise<{ last: boolean }> {
    const users = this.tenants.get(tenant);
    const list = users?.get(entry.userId);
    const i = list ? list.findIndex((e) => e.connectionId === entry.connectionId) : -1;
    if (!users || !list || i < 0) return { last: false };
    list.splice(i, 1);
    this.counts.set(tenant, (this.counts.get(tenant) ?? 1) - 1);
    if (list.length > 0) return { last: false };
    users.delete(entry.userId);
    if (users.size === 0) {
      this.tenants.delete(tenant);
      this.counts.delete(tenant);
    }
    return { last: true };
  }

  async tenantCount(tenant: string): Promise<number> {
    return this.counts.get(tenant) ?? 0;
  }
}
