import type { AuditRecord } from './records.js';

/** Where a batch of records goes: one engine call for all of them; resolves with how many were not stored. */
export type RecordSink = (records: AuditRecord[]) => Promise<number>;

/**
 * Collects the records of an event-loop turn and stores them with one call, one batch in flight
 * at a time. While a batch is being stored (a slow or unreachable engine), what arrives waits,
 * up to `maxQueued`; past it records are dropped and counted rather than held without bound.
 */
export class AuditRecorder {
  private queue: AuditRecord[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly sink: RecordSink,
    private readonly maxQueued: number,
    private readonly dropped: (count: number, reason: 'queue_full' | 'unpublished') => void,
  ) {}

  add(record: AuditRecord): void {
    if (this.queue.length >= this.maxQueued) return this.dropped(1, 'queue_full');
    this.queue.push(record);
    this.schedule();
  }

  /** Resolves once everything queued so far has been handed to the sink. */
  async flushed(): Promise<void> {
    while (this.inFlight || this.queue.length > 0) {
      if (!this.inFlight) this.flush();
      await this.inFlight;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = this.sink(batch)
      .then(
        (failed) => {
          if (failed > 0) this.dropped(failed, 'unpublished');
        },
        () => this.dropped(batch.length, 'unpublished'),
      )
      .finally(() => {
        this.inFlight = undefined;
        if (this.queue.length > 0) this.schedule();
      });
  }
}
