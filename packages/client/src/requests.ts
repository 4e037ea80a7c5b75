import type { ReplyFrame } from '@herald/protocol';
import { HeraldError } from './errors.js';

interface Pending {
  resolve(result: unknown): void;
  reject(err: HeraldError): void;
  onResult?: (result: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Requests awaiting their `reply`, by id, each with a timeout. */
export class PendingRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /**
   * Registers a request. `onResult` runs synchronously when the reply is handled, before any
   * later frame: a subscribe must know its result before the replayed publications that follow.
   */
  create<T>(timeoutMs: number, onResult?: (result: T) => void): { id: number; promise: Promise<T> } {
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HeraldError('timeout', `no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer, ...(onResult ? { onResult: onResult as (r: unknown) => void } : {}) });
    });
    return { id, promise };
  }

  settle(frame: ReplyFrame): void {
    const entry = this.pending.get(frame.id);
    if (!entry) return;
    this.pending.delete(frame.id);
    clearTimeout(entry.timer);
    if ('error' in frame) return entry.reject(HeraldError.fromBody(frame.error));
    entry.onResult?.(frame.result);
    entry.resolve(frame.result);
  }

  /** Fails every pending request, e.g. when the link drops. */
  failAll(err: HeraldError): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(err);
    }
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }
}
