// Delivery accounting for one client during one measured step: which sequence numbers of its
// room arrived, how many twice, how many after a later one, and how late.
import { Histogram } from '../histogram.js';
import { nowMicros, type Stamp } from '../payload.js';

/** State shared by every client of a worker: the step being measured and its latency histograms. */
export class StepState {
  step = -1;
  /** Stamps from another step: late traffic of an earlier one. */
  stale = 0;
  /** One histogram per server node the clients are connected to. */
  latency: Histogram[] = [];
  /** Latency of first arrivals sent before their client's latest reconnect: what a resume replayed. */
  replay = new Histogram();
  /** When the last stamped message of any step arrived (µs, `nowMicros`). */
  lastAt = 0;

  begin(step: number, nodes: number): void {
    this.step = step;
    this.stale = 0;
    this.latency = Array.from({ length: nodes }, () => new Histogram());
    this.replay = new Histogram();
  }
}

export class Tracker {
  private seen = new Uint8Array(128);
  private maxSeq = -1;
  received = 0;
  unique = 0;
  duplicates = 0;
  outOfOrder = 0;
  /** When the client's current connection was opened after a drop (µs, `nowMicros`); 0 before any. */
  resumedAt = 0;
  /** Connections the client opened again after a drop. */
  reconnects = 0;

  constructor(
    readonly room: number,
    readonly node: number,
    private readonly state: StepState,
  ) {}

  reset(): void {
    this.seen.fill(0);
    this.maxSeq = -1;
    this.received = this.unique = this.duplicates = this.outOfOrder = 0;
    this.resumedAt = this.reconnects = 0;
  }

  record(stamp: Stamp): void {
    const state = this.state;
    const now = nowMicros();
    state.lastAt = now;
    if (stamp.step !== state.step) {
      state.stale++;
      return;
    }
    state.latency[this.node].record(now - stamp.sentAt);
    this.received++;
    const seq = stamp.seq;
    const byte = seq >>> 3;
    if (byte >= this.seen.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.seen.length * 2));
      grown.set(this.seen);
      this.seen = grown;
    }
    const bit = 1 << (seq & 7);
    if (this.seen[byte] & bit) {
      this.duplicates++;
      return;
    }
    this.seen[byte] |= bit;
    this.unique++;
    if (stamp.sentAt < this.resumedAt) state.replay.record(now - stamp.sentAt);
    if (seq < this.maxSeq) this.outOfOrder++;
    else this.maxSeq = seq;
  }
}
