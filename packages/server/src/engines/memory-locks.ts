import type { LockHolder, LockState, LockStore } from '../engine.js';

/** See LockStore. One process; expired locks are dropped when touched and by `sweep()`. */
export class MemoryLocks implements LockStore {
  private readonly locks = new Map<string, LockState>();

  constructor(private readonly now: () => number = Date.now) {}

  async acquire(key: string, holder: LockHolder, ttlMs: number): Promise<{ acquired: boolean; state: LockState }> {
    const current = this.live(key);
    if (current && current.holder.connectionId !== holder.connectionId) return { acquired: false, state: current };
    const state = { holder, expiresAt: this.now() + ttlMs };
    this.locks.set(key, state);
    return { acquired: true, state };
  }

  async refresh(key: string, connectionId: string, ttlMs: number): Promise<boolean> {
    const current = this.live(key);
    if (!current || current.holder.connectionId !== connectionId) return false;
    current.expiresAt = this.now() + ttlMs;
    return true;
  }

  async release(key: string, connectionId: string): Promise<boolean> {
    const current = this.live(key);
    if (!current || current.holder.connectionId !== connectionId) return false;
    this.locks.delete(key);
    return true;
  }

  async get(key: string): Promise<LockState | undefined> {
    return this.live(key);
  }

  sweep(): void {
    const now = this.now();
    for (const [key, state] of this.locks) if (state.expiresAt <= now) this.locks.delete(key);
  }

  private live(key: string): LockState | undefined {
    const state = this.locks.get(key);
    if (state && state.expiresAt <= this.now()) {
      this.locks.delete(key);
      return undefined;
    }
    return state;
  }
}
