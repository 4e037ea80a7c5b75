import type { LifecycleBus } from './events.js';

/** Seconds of per-second counts kept: the console's charts show the last five minutes. */
export const SERIES_SECONDS = 300;

/**
 * Counts per second over the last `size` seconds, in a fixed ring: memory does not grow with
 * traffic. No library keeps a sliding per-second window this small without timers.
 */
export class SecondCounts {
  private readonly counts: number[];
  /** The second (ms since epoch / 1000) that `counts[second % size]` holds. */
  private readonly seconds: number[];

  constructor(private readonly size = SERIES_SECONDS) {
    this.counts = new Array<number>(size).fill(0);
    this.seconds = new Array<number>(size).fill(-1);
  }

  add(n: number, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    const i = second % this.size;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.counts[i] = 0;
    }
    this.counts[i] += n;
  }

  /** The counts of the `size` seconds ending with the current one, oldest first, and the first one's second. */
  window(now = Date.now()): { start: number; counts: number[] } {
    const end = Math.floor(now / 1000);
    const start = end - this.size + 1;
    const counts: number[] = [];
    for (let s = start; s <= end; s++) {
      const i = s % this.size;
      counts.push(this.seconds[i] === s ? this.counts[i] : 0);
    }
    return { start, counts };
  }
}

/** One node's figures for the console and `GET /api/v1/stats`: see NodeFigures.snapshot. */
export interface FiguresSnapshot {
  startedAt: number;
  publications: number;
  deliveries: number;
  /** Per-second counts of the last SERIES_SECONDS seconds, the first at second `start` (Unix seconds). */
  series: { start: number; publications: number[]; deliveries: number[] };
  /** Refused connections and requests since start, by reason (`herald_denials_total`). */
  denials: Record<string, number>;
  /** Connections the server closed since start, by close code (4006: slow consumer). */
  closes: Record<string, number>;
}

/**
 * What this node has done since it started, kept from the lifecycle bus as the metrics are:
 * publications and deliveries (totals and per second), denials by reason and server closes by
 * code. Figures of one tenant are not kept apart; cluster-wide sums are made by the asker.
 */
export class NodeFigures {
  readonly startedAt = Date.now();
  private publications = 0;
  private deliveries = 0;
  private readonly publicationSeries = new SecondCounts();
  private readonly deliverySeries = new SecondCounts();
  private readonly denials: Record<string, number> = {};
  private readonly closes: Record<string, number> = {};

  constructor(bus: LifecycleBus) {
    bus.on('publish', (e) => {
      if (e.duplicate) return;
      this.publications += e.channels.length;
      this.publicationSeries.add(e.channels.length);
    });
    bus.on('delivery', (e) => {
      this.deliveries += e.delivered;
      this.deliverySeries.add(e.delivered);
    });
    bus.on('denial', (e) => {
      this.denials[e.reason] = (this.denials[e.reason] ?? 0) + 1;
    });
    bus.on('eviction', (e) => {
      this.closes[e.code] = (this.closes[e.code] ?? 0) + 1;
    });
  }

  snapshot(now = Date.now()): FiguresSnapshot {
    const p = this.publicationSeries.window(now);
    const d = this.deliverySeries.window(now);
    return {
      startedAt: this.startedAt,
      publications: this.publications,
      deliveries: this.deliveries,
      series: { start: p.start, publications: p.counts, deliveries: d.counts },
      denials: { ...this.denials },
      closes: { ...this.closes },
    };
  }
}
