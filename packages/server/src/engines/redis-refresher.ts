/** Runs a task every interval, never two at once; `now()` runs it early. */
export class Refresher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    this.started = true;
    this.schedule();
  }

  stop(): void {
    this.started = false;
    clearTimeout(this.timer);
  }

  now(): void {
    if (!this.started || this.running) return;
    clearTimeout(this.timer);
    this.running = this.task()
      .catch((err: unknown) => this.onError(err as Error))
      .finally(() => {
        this.running = undefined;
        this.schedule();
      });
  }

  private schedule(): void {
    if (!this.started) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.now(), this.intervalMs);
    this.timer.unref();
  }
}
