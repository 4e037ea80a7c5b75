import type { StreamPosition } from '@herald/protocol';
import type { KeyValueStorage } from './storage.js';

/**
 * The most recent publication keys seen, bounded: the oldest is forgotten when full. Catches a
 * publication delivered twice that the offset check cannot (another epoch, a resume by id).
 */
export class RecentIds {
  private readonly keys = new Set<string>();

  constructor(readonly capacity = 1000) {}

  /** Records the key; false when it was already there (a duplicate). */
  add(key: string): boolean {
    if (this.keys.has(key)) {
      // Refresh its place so a key still arriving is the last one forgotten.
      this.keys.delete(key);
      this.keys.add(key);
      return false;
    }
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  get size(): number {
    return this.keys.size;
  }
}

/** Where a channel's reader stopped: the stream position and the last publication id. */
export interface Cursor extends StreamPosition {
  lastId?: string;
}

/**
 * Channel cursors in a storage, one key per channel, written on every publication so that a
 * page reloaded at any moment resumes exactly after what it already handled.
 */
export class CursorStore {
  constructor(
    private readonly storage: KeyValueStorage,
    private readonly prefix = 'herald',
  ) {}

  read(scope: string, channel: string): Cursor | undefined {
    try {
      const text = this.storage.getItem(this.key(scope, channel));
      if (!text) return undefined;
      const value = JSON.parse(text) as Partial<Cursor>;
      if (typeof value.epoch !== 'string' || typeof value.offset !== 'number') return undefined;
      return { epoch: value.epoch, offset: value.offset, ...(typeof value.lastId === 'string' ? { lastId: value.lastId } : {}) };
    } catch {
      return undefined;
    }
  }

  write(scope: string, channel: string, cursor: Cursor): void {
    try {
      this.storage.setItem(this.key(scope, channel), JSON.stringify(cursor));
    } catch {
      // A full or revoked storage costs resume-after-reload, not delivery.
    }
  }

  remove(scope: string, channel: string): void {
    try {
      this.storage.removeItem(this.key(scope, channel));
    } catch {
      // see write
    }
  }

  private key(scope: string, channel: string): string {
    return `${this.prefix}:cursor:${scope}:${channel}`;
  }
}
