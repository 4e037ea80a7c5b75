// The workloads of issue 6, in their full, quick and large forms.

/**
 * How the offered publish rate is chosen: double from `start` while steps pass (up to `max`),
 * or halve while they fail (up to three times), then bisect between the highest passing and
 * the lowest failing rate `bisections` times.
 */
export interface RateSearch {
  start: number;
  max: number;
  bisections: number;
}

export interface Workload {
  name: string;
  kind: 'throughput' | 'capacity' | 'jitter';
  clients: number;
  rooms: number;
  payloadBytes: number;
  /** Publications per second; one step when `start === max`. */
  rates: RateSearch;
  /** Length of each measured step. */
  seconds: number;
  /** Publications per HTTP request (1: the single publish endpoint). */
  batch: number;
  /** Only these targets run the workload. */
  targets?: string[];
  /** In quick runs, only these targets run the workload. */
  quickTargets?: string[];
  /** The row's note gives publish requests/s sustained and server µs per request (ingest). */
  perRequest?: boolean;
  /** Capacity: how long connections settle before memory is read. */
  settleMs?: number;
  /** Jitter: each connection is killed after about `upMs` and its client comes back `downMs` later. */
  jitter?: { upMs: number; downMs: number };
  /** Publications each channel keeps (Herald's `history.size`), for clients to resume from. */
  history?: number;
}

/** A step passes with zero loss and p99 under this. */
export const P99_LIMIT_MS = 100;

export interface WorkloadOptions {
  quick: boolean;
  large: boolean;
  /** Overrides each step's length. */
  seconds?: number;
}

export function workloads(options: WorkloadOptions): Workload[] {
  const { quick } = options;
  const seconds = options.seconds ?? (quick ? 1 : 10);
  const fixed = (rate: number): RateSearch => ({ start: rate, max: rate, bisections: 0 });
  return [
    {
      // One room, everyone in it: deliveries per second per core, searched up to the first failing rate.
      name: 'fan-out',
      kind: 'throughput',
      clients: 1000,
      rooms: 1,
      payloadBytes: 200,
      rates: { start: quick ? 40 : 20, max: 5000, bisections: quick ? 1 : 4 },
      seconds,
      batch: 1,
    },
    {
      // Many small rooms: per-publication overhead and latency rather than raw fan-out.
      name: 'many-rooms',
      kind: 'throughput',
      clients: 1000,
      rooms: 100,
      payloadBytes: 200,
      rates: fixed(5000),
      seconds,
      batch: 1,
    },
    {
      // Ingest through the batch endpoint: 1,000 rooms, a subscriber in each of the first 100, so
      // one publication in ten is delivered (a check that ingest works, not a fan-out test).
      name: 'batch-publish',
      kind: 'throughput',
      clients: 100,
      rooms: 1000,
      payloadBytes: 200,
      rates: quick ? fixed(50_000) : { start: 25_000, max: 400_000, bisections: 2 },
      seconds,
      batch: 100,
      // Ingest does not depend on the transport: a quick run checks Herald against the reference only.
      quickTargets: ['ws-reference', 'herald-ws'],
    },
    {
      // Single-publish HTTP ingest: one request per publication, pipelined on one connection, to
      // 1,000 rooms of which the first 100 have one subscriber each (no subscriber or one): the
      // cost of a publish request rather than of its deliveries.
      name: 'ingest',
      kind: 'throughput',
      clients: 100,
      rooms: 1000,
      payloadBytes: 200,
      rates: quick ? { start: 10_000, max: 40_000, bisections: 0 } : { start: 5000, max: 80_000, bisections: 3 },
      seconds,
      batch: 1,
      perRequest: true,
      // The HTTP path does not depend on the transport: a quick run checks Herald against the reference only.
      quickTargets: ['ws-reference', 'herald-ws'],
    },
    {
      // Two nodes on Redis, publications into the first: same-node against cross-node latency at
      // 30,000 deliveries/s (p99_ms_by_node), one node alone at the same load as the baseline, and
      // socket.io on two nodes with its Redis adapter as the peer.
      name: 'cross-node',
      kind: 'throughput',
      clients: 1000,
      rooms: 1,
      payloadBytes: 200,
      rates: fixed(30),
      seconds: options.seconds ?? (quick ? 1.5 : 10),
      batch: 1,
      targets: ['herald-ws', 'herald-redis-2', 'socketio-redis-2'],
    },
    {
      // What WAIT-based durability costs (engine.redis.waitReplicas: 1): one Herald node on a Redis
      // master with a replica, publishes acknowledged once the master has them against once the
      // replica has them; one subscriber per room, so publishing, not fan-out, is measured.
      name: 'wait-cost',
      kind: 'throughput',
      clients: 100,
      rooms: 100,
      payloadBytes: 200,
      rates: quick ? fixed(1000) : { start: 1000, max: 20_000, bisections: 3 },
      seconds,
      batch: 1,
      targets: ['herald-redis-replica', 'herald-redis-wait'],
    },
    {
      // Delivery under jitter (after anycable/nodejs-websocket-bench): sockets killed at random and
      // back a moment later, each target resuming the way its stock client does; socketio-plain
      // has no recovery and shows what that loses.
      name: 'jitter',
      kind: 'jitter',
      clients: quick ? 500 : 2000,
      rooms: 1,
      payloadBytes: 200,
      rates: fixed(10),
      seconds: quick ? 12 : 60,
      batch: 1,
      targets: ['socketio-plain', 'herald-ws', 'herald-sse', 'herald-socketio'],
      jitter: quick ? { upMs: 5000, downMs: 1000 } : { upMs: 15_000, downMs: 2000 },
      // More than a client misses while down (10/s × a few seconds).
      history: 1000,
    },
    {
      // RSS grows linearly with idle connections; a quick run measures the slope over 5,000 to stay
      // within its two minutes.
      name: 'capacity',
      kind: 'capacity',
      clients: options.large ? 50_000 : quick ? 5_000 : 10_000,
      rooms: 100,
      payloadBytes: 0,
      rates: fixed(0),
      seconds: 0,
      batch: 1,
      settleMs: quick ? 300 : 3000,
    },
  ];
}
