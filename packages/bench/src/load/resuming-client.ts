// A bench client that outlives its connections: the jitter workload kills its socket at random
// and it comes back a moment later, resuming the way its stock client would (the position is
// kept in a `Resume` that every connection of the client reads and updates).
import { nowMicros } from '../payload.js';
import type { BenchClient, Resume } from './bench-clients.js';
import type { Tracker } from './tracker.js';

/**
 * How a worker drops its clients' connections, shared by all of them: each connection is killed
 * after an up time drawn uniformly from [0.5, 1.5] × `upMs`, and the client reconnects `downMs`
 * after any drop. `upMs` 0: no more kills (reconnects under way still happen).
 */
export interface Jitter {
  upMs: number;
  downMs: number;
}

/** One connection of a client; `onFinished` is RawConnection's. */
export type BenchConnection = BenchClient & { onFinished: (() => void) | undefined };

export class ResumingClient implements BenchClient {
  /** The first connection's readiness: later ones are the jitter's business. */
  readonly ready: Promise<void>;
  private connection: BenchConnection;
  private up = false;
  private closed = false;
  private killTimer: NodeJS.Timeout | undefined;
  private backTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly tracker: Tracker,
    private readonly jitter: Jitter,
    private readonly resume: Resume,
    private readonly open: (resume: Resume) => BenchConnection,
  ) {
    this.connection = this.connect();
    this.ready = this.connection.ready;
  }

  /** Subscribed and receiving on its current connection. */
  get isOpen(): boolean {
    return this.up && this.connection.isOpen;
  }

  /** Arms the next kill from the jitter as it is now (none when it is off or the client is down). */
  scheduleKill(): void {
    clearTimeout(this.killTimer);
    if (!this.up || this.closed || this.jitter.upMs <= 0) return;
    this.killTimer = setTimeout(() => this.connection.close(), this.jitter.upMs * (0.5 + Math.random()));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.killTimer);
    clearTimeout(this.backTimer);
    this.connection.close();
  }

  private connect(): BenchConnection {
    const connection = this.open(this.resume);
    this.up = false;
    connection.onFinished = () => this.connectionOnFinished(connection);
    connection.ready.then(
      () => {
        if (connection !== this.connection) return;
        this.up = true;
        this.scheduleKill();
      },
      () => {}, // a refused or dropped attempt ends the connection, and onFinished retries
    );
    return connection;
  }

  private connectionOnFinished(connection: BenchConnection): void {
    if (connection !== this.connection || this.closed) return;
    this.up = false;
    clearTimeout(this.killTimer);
    this.backTimer = setTimeout(() => this.reconnect(), this.jitter.downMs);
  }

  private reconnect(): void {
    if (this.closed) return;
    this.tracker.reconnects++;
    // What was sent before now and arrives on the new connection is a replay.
    this.tracker.resumedAt = nowMicros();
    this.connection = this.connect();
  }
}
