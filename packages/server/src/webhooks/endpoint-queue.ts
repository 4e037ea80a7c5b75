import { retryDelay } from './backoff.js';
import type { PostOutcome } from './post.js';

/** One event on its way to one endpoint; retries keep its id. */
export interface Delivery {
  id: string;
  type: string;
  body: string;
  bytes: number;
  /** When it was queued (ms): retries stop `giveUpAfter` later. */
  queuedAt: number;
  attempts: number;
}

export interface EndpointQueueOptions {
  concurrency: number;
  maxEvents: number;
  maxBytes: number;
  retry: { initialDelay: number; maxDelay: number; giveUpAfter: number };
  /** Sends one attempt; must settle (bounded by its own timeout) and never reject. */
  send(delivery: Delivery): Promise<PostOutcome>;
  onSent(delivery: Delivery): void;
  /** Retries exhausted: the last attempt's outcome. */
  onFailed(delivery: Delivery, outcome: Extract<PostOutcome, { ok: false }>): void;
  onRetry(delivery: Delivery, outcome: Extract<PostOutcome, { ok: false }>, delayMs: number): void;
}

/**
 * One endpoint's deliveries: a FIFO bounded in count and bytes (everything not yet sent or
 * given up on counts, waiting for a retry or in flight too), at most `concurrency` requests at
 * once, failed attempts retried after `retryDelay` until `giveUpAfter` has passed since the event.
 * Hand-written: queue libraries bound a count, not the bytes held, and know no retry timers.
 */
export class EndpointQueue {
  private readonly ready: Delivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private head = 0;
  private inFlight = 0;
  private held = 0;
  private heldBytes = 0;
  private closed = false;
  private readonly idle: (() => void)[] = [];

  constructor(private readonly options: EndpointQueueOptions) {}

  /** Events held: waiting, waiting for a retry, or in flight. */
  get depth(): number {
    return this.held;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  get sending(): number {
    return this.inFlight;
  }

  /** Queues a delivery; false (nothing queued) when it would pass the bounds or the queue is closed. */
  push(delivery: Delivery): boolean {
    if (this.closed || this.held + 1 > this.options.maxEvents || this.heldBytes + delivery.bytes > this.options.maxBytes) return false;
    this.held += 1;
    this.heldBytes += delivery.bytes;
    this.ready.push(delivery);
    this.pump();
    return true;
  }

  /** Resolves once nothing is held (or at once when nothing is). */
  drained(): Promise<void> {
    if (this.held === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops: pending retries are cancelled and nothing new starts; requests in flight end on their own timeouts. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.options.concurrency && this.head < this.ready.length) {
      const delivery = this.ready[this.head++];
      // Taken entries are cut off in bulk: shift() on every take would copy the array each time.
      if (this.head > 1024 && this.head * 2 > this.ready.length) {
        this.ready.splice(0, this.head);
        this.head = 0;
      }
      void this.attempt(delivery);
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    this.inFlight += 1;
    delivery.attempts += 1;
    const outcome = await this.options.send(delivery);
    this.inFlight -= 1;
    if (outcome.ok) {
      this.release(delivery);
      this.options.onSent(delivery);
    } else {
      const delay = retryDelay(delivery.attempts, this.options.retry);
      if (this.closed || Date.now() + delay - delivery.queuedAt > this.options.retry.giveUpAfter) {
        this.release(delivery);
        this.options.onFailed(delivery, outcome);
      } else {
        this.options.onRetry(delivery, outcome, delay);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.ready.push(delivery);
          this.pump();
        }, delay);
        timer.unref();
        this.timers.add(timer);
      }
    }
    this.pump();
  }

  private release(delivery: Delivery): void {
    this.held -= 1;
    this.heldBytes -= delivery.bytes;
    if (this.held === 0) for (const resolve of this.idle.splice(0)) resolve();
  }
}
