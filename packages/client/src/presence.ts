import type { PresenceUser } from '@herald/protocol';
import { Emitter } from './emitter.js';

export interface PresenceEvents {
  /** The list changed: a snapshot arrived, or someone joined or left. */
  change: PresenceUser[];
  join: PresenceUser;
  leave: PresenceUser;
}

/**
 * Who is in a channel now, kept live: a snapshot from the server after every (re)subscribe,
 * then the channel's join and leave frames.
 */
export class PresenceList {
  private readonly users = new Map<string, PresenceUser>();
  private readonly events = new Emitter<PresenceEvents>();

  on<K extends keyof PresenceEvents>(event: K, listener: (value: PresenceEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** The users present, in the order they were first seen. */
  list(): PresenceUser[] {
    return [...this.users.values()];
  }

  has(userId: string): boolean {
    return this.users.has(userId);
  }

  get size(): number {
    return this.users.size;
  }

  /** @internal Replaces the list with the server's snapshot. */
  reset(users: PresenceUser[]): void {
    this.users.clear();
    for (const user of users) this.users.set(user.userId, user);
    this.events.emit('change', this.list());
  }

  /** @internal */
  join(user: PresenceUser): void {
    this.users.set(user.userId, user);
    this.events.emit('join', user);
    this.events.emit('change', this.list());
  }

  /** @internal */
  leave(user: PresenceUser): void {
    if (!this.users.delete(user.userId)) return;
    this.events.emit('leave', user);
    this.events.emit('change', this.list());
  }
}
