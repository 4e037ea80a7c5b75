import { Emitter } from './emitter.js';
import { HeraldError, isDisconnect } from './errors.js';
import { randomKey } from './ids.js';

/** A client publication waiting to be delivered. */
export interface OutboxItem {
  /** Idempotency key: every attempt carries it, so the server publishes the item at most once. */
  key: string;
  channel: string;
  event: string;
  data: unknown;
  /** When it was queued, ms since epoch. */
  createdAt: number;
  /** Failed attempts so far (an attempt cut short by a dropped link does not count). */
  failures: number;
  /** Not retried before this, ms since epoch. */
  nextAttemptAt: number;
  lastError?: { code: string; message: string };
}

export interface PublishResult {
  id: string;
  offset: number;
}

/** Where queued items live between page loads or process restarts. Saves are whole snapshots, in order. */
export interface OutboxStore {
  load(): Promise<OutboxItem[]>;
  save(items: readonly OutboxItem[]): Promise<void>;
}

/**
 * Items kept in memory only: lost with the page or process. The default.
 *
 * @example
 * const client = createHeraldClient({ url, token, outbox: { store: memoryOutboxStore(), capacity: 20 } });
 */
export function memoryOutboxStore(): OutboxStore {
  let saved: OutboxItem[] = [];
  return {
    load: async () => saved.map((item) => ({ ...item })),
    save: async (items) => void (saved = items.map((item) => ({ ...item }))),
  };
}

export interface OutboxOptions {
  /** Most items held; the oldest is evicted past it. Default 100. */
  capacity?: number;
  /** Waits after the 1st, 2nd, … failure, in ms. Default 1 s, 3 s, 9 s, 27 s. */
  retrySchedule?: number[];
  /** The wait after every later failure, in ms. Default 2 min. */
  retryEvery?: number;
  /** Failures of one item after which `stalled` is raised (the app may offer a manual sync). Default 5. */
  stallAfter?: number;
  store?: OutboxStore;
}

export interface OutboxEvents<R = PublishResult> {
  sent: { item: OutboxItem; result: R };
  /** The outbox was full and this, its oldest waiting item, was dropped undelivered. */
  evicted: { item: OutboxItem };
  /** An attempt failed; the item is retried after `retryIn` ms. */
  failed: { item: OutboxItem; error: HeraldError; retryIn: number };
  /** The item has failed `stallAfter` times; later items wait behind it. */
  stalled: { item: OutboxItem; failures: number };
}

interface Waiter {
  resolve(result: unknown): void;
  reject(err: HeraldError): void;
}

/**
 * Client publications, delivered in order once the link is up. Bounded and FIFO: when full, the
 * oldest waiting item is evicted. A failed item is retried on a schedule (1 s, 3 s, 9 s, 27 s,
 * then every 2 min) and holds back the items behind it, so their order is kept. A link that
 * drops mid-attempt leaves the outcome unknown; the retry reuses the idempotency key, so the
 * server never publishes the item twice (within its idempotency window, 5 min by default).
 */
export class Outbox<R = PublishResult> {
  /** Resolves once the stored items are loaded. */
  readonly ready: Promise<void>;
  private queue: OutboxItem[] = [];
  private readonly waiters = new Map<string, Waiter>();
  private readonly events = new Emitter<OutboxEvents<R>>();
  private readonly capacity: number;
  private readonly schedule: number[];
  private readonly retryEvery: number;
  private readonly stallAfter: number;
  private readonly store: OutboxStore;
  private online = false;
  private flushing = false;
  private inFlight: OutboxItem | undefined;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (item: OutboxItem) => Promise<R>,
    options: OutboxOptions = {},
  ) {
    this.capacity = options.capacity ?? 100;
    this.schedule = options.retrySchedule ?? [1000, 3000, 9000, 27_000];
    this.retryEvery = options.retryEvery ?? 120_000;
    this.stallAfter = options.stallAfter ?? 5;
    this.store = options.store ?? memoryOutboxStore();
    this.ready = this.store.load().then(
      (items) => {
        // Items queued before the load finished go after the stored ones.
        this.queue = [...items, ...this.queue];
        this.trim();
        // The link may have come up while the store was read: what it held goes out now.
        void this.flush();
      },
      () => {
        // An unreadable store starts empty rather than blocking publishing.
      },
    );
  }

  on<K extends keyof OutboxEvents>(event: K, listener: (value: OutboxEvents<R>[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Items waiting, oldest first. */
  get items(): readonly OutboxItem[] {
    return this.queue;
  }

  get size(): number {
    return this.queue.length;
  }

  /** Queues a publication; resolves when the server has accepted it, rejects if it is evicted or removed. */
  async enqueue(channel: string, event: string, data: unknown, key: string = randomKey()): Promise<R> {
    await this.ready;
    const now = Date.now();
    const item: OutboxItem = { key, channel, event, data, createdAt: now, failures: 0, nextAttemptAt: now };
    const result = new Promise<R>((resolve, reject) => this.waiters.set(key, { resolve: resolve as (r: unknown) => void, reject }));
    // Callers may fire and forget; evictions are reported as events too.
    result.catch(() => {});
    this.queue.push(item);
    this.trim();
    await this.persist();
    void this.flush();
    return result;
  }

  /** The link is up: start delivering. */
  resume(): void {
    this.online = true;
    void this.flush();
  }

  /** The link is down: stop until `resume()`. */
  pause(): void {
    this.online = false;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  /** Retries every item now, whatever its schedule: the "sync now" button. */
  retryNow(): void {
    const now = Date.now();
    for (const item of this.queue) item.nextAttemptAt = now;
    this.retryHead();
  }

  /** Drops an item undelivered (e.g. after the user gave up on it). */
  remove(key: string): boolean {
    const index = this.queue.findIndex((item) => item.key === key);
    if (index < 0) return false;
    this.queue.splice(index, 1);
    this.settle(key, new HeraldError('closed', 'removed from the outbox'));
    void this.persist();
    // The removed item may have been the one the queue was waiting on.
    if (index === 0) this.retryHead();
    return true;
  }

  private retryHead(): void {
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    void this.flush();
  }

  /** The wait after an item's `failures`-th failure. */
  retryDelay(failures: number): number {
    return failures <= this.schedule.length ? this.schedule[failures - 1] : this.retryEvery;
  }

  private trim(): void {
    while (this.queue.length > this.capacity) {
      // The item on the wire stays: its outcome is about to be known.
      const index = this.queue.findIndex((item) => item !== this.inFlight);
      const [item] = this.queue.splice(index, 1);
      this.settle(item.key, new HeraldError('evicted', `the outbox holds at most ${this.capacity} items`));
      this.events.emit('evicted', { item });
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing || !this.online) return;
    this.flushing = true;
    try {
      while (this.online && this.queue.length > 0) {
        const item = this.queue[0];
        const wait = item.nextAttemptAt - Date.now();
        if (wait > 0) {
          this.wake(wait);
          return;
        }
        this.inFlight = item;
        try {
          const result = await this.send(item);
          this.queue = this.queue.filter((queued) => queued !== item);
          await this.persist();
          this.settle(item.key, undefined, result);
          this.events.emit('sent', { item, result });
        } catch (err) {
          if (isDisconnect(err)) return;
          if (!this.queue.includes(item)) continue;
          const error = err instanceof HeraldError ? err : new HeraldError('internal', String(err));
          item.failures += 1;
          const retryIn = this.retryDelay(item.failures);
          item.nextAttemptAt = Date.now() + retryIn;
          item.lastError = { code: error.code, message: error.message };
          await this.persist();
          this.events.emit('failed', { item, error, retryIn });
          if (item.failures === this.stallAfter) this.events.emit('stalled', { item, failures: item.failures });
        } finally {
          this.inFlight = undefined;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private wake(wait: number): void {
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.flush();
    }, wait);
  }

  private settle(key: string, err: HeraldError | undefined, result?: R): void {
    const waiter = this.waiters.get(key);
    if (!waiter) return;
    this.waiters.delete(key);
    if (err) waiter.reject(err);
    else waiter.resolve(result!);
  }

  private persist(): Promise<void> {
    const snapshot = this.queue.map((item) => ({ ...item }));
    this.saving = this.saving.then(() => this.store.save(snapshot)).catch(() => {
      // A store that cannot write keeps the items in memory; delivery goes on.
    });
    return this.saving;
  }
}
