// The shape of bench/results/latest.json rows. Field names are the JSON's (snake_case).

export const RATIO_METRICS = ['deliveries_per_s', 'server_us_per_delivery', 'server_core_us_per_delivery', 'p99_ms', 'rss_per_conn_kb'] as const;
export type RatioMetric = (typeof RATIO_METRICS)[number];

export interface StepResult {
  /** Offered publications per second. */
  rate: number;
  achieved_rate: number;
  deliveries_per_s: number;
  received: number;
  lost: number;
  duplicates: number;
  out_of_order: number;
  /** Deliveries stamped with an earlier step (late traffic). */
  stale: number;
  disconnected: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Per server node, for multi-node targets (node 0 takes the publications). */
  p99_ms_by_node?: number[];
  /** Publish requests the server answered with success, per second of the step. */
  requests_per_s: number;
  /** Server process time (user + system) per delivery. */
  server_us_per_delivery: number | null;
  /** Server process time per publish request sent (a request carries `batch` publications). */
  server_us_per_request: number | null;
  /** Busy time of the server's core per delivery, including the kernel's network work charged to no process. */
  server_core_us_per_delivery: number | null;
  /** Server process CPU over the step, in cores. */
  server_cpu: number;
  /** The server core's busy fraction (null when not pinned). */
  server_core_busy: number | null;
  /** Load generator CPU (workers and publisher) over the step, in cores. */
  generator_cpu: number;
  generator_core_busy: number | null;
  /** Process time on the two cores not used by the bench's own processes, in cores (null when not pinned). */
  other_load: number | null;
  publish_errors: number;
  passed: boolean;
  /** The generator was near a full core: the step neither passes nor fails, and the search stops. */
  generator_bound: boolean;
  /** Why the step did not pass. */
  why?: string;
}

export interface WorkloadResult {
  target: string;
  workload: string;
  status: 'ok' | 'skipped' | 'error';
  note?: string;
  clients: number;
  rooms: number;
  /** Clients that connected. */
  connected: number | null;
  payload_bytes: number | null;
  /** Offered rate of the reported step: the highest that passed, else the first. */
  publish_rate: number | null;
  deliveries_per_s: number | null;
  lost: number | null;
  duplicates: number | null;
  out_of_order: number | null;
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  /** Multi-node targets: p99 of clients on each node (node 0 takes the publications). */
  p99_ms_by_node?: number[];
  /** Acknowledged publish requests per second of the reported step. */
  requests_per_s?: number | null;
  /** Server process CPU per delivery at the first step's rate, which every target is offered alike. */
  server_us_per_delivery: number | null;
  /** Server process CPU per publish request at the first step's rate. */
  server_us_per_request?: number | null;
  /** The server core's busy time per delivery at that rate (includes softirq network work). */
  server_core_us_per_delivery: number | null;
  generator_cpu: number | null;
  /** Null when the reported step was generator-bound: the figure is the generator's limit, not a pass or a fail. */
  passed: boolean | null;
  /** The generator's CPU (cores) when the reported step was generator-bound, else null. */
  generator_bound: number | null;
  /** (RSS after N idle connections − RSS before) / N, in KiB. */
  rss_per_conn_kb: number | null;
  connect_s: number | null;
  /** Peak resident memory of the server process(es) during the workload. */
  peak_rss_mb: number | null;
  /** Wall time of the whole workload (start, connect, steps, stop). */
  elapsed_s: number | null;
  /** Busy fraction of each core just before the target started: other work on the machine skews figures. */
  background_busy: number[] | null;
  steps?: StepResult[];
  /** Jitter: distinct publications received / expected, over every client's lifetime across reconnects, in %. */
  delivered_pct?: number | null;
  /** Jitter: p99 latency of publications sent before a reconnect that arrived after it (replayed). */
  replay_p99_ms?: number | null;
  /** Jitter: connections reopened after a drop. */
  reconnects?: number | null;
  /** This row's figure divided by each peer's, per metric (lower is better except deliveries_per_s). */
  ratios: Record<string, Partial<Record<RatioMetric, number>>>;
}

export function emptyResult(target: string, workload: { name: string; clients: number; rooms: number }): WorkloadResult {
  return {
    target,
    workload: workload.name,
    status: 'ok',
    clients: workload.clients,
    rooms: workload.rooms,
    connected: null,
    payload_bytes: null,
    publish_rate: null,
    deliveries_per_s: null,
    lost: null,
    duplicates: null,
    out_of_order: null,
    p50_ms: null,
    p90_ms: null,
    p99_ms: null,
    max_ms: null,
    server_us_per_delivery: null,
    server_core_us_per_delivery: null,
    generator_cpu: null,
    passed: null,
    generator_bound: null,
    rss_per_conn_kb: null,
    connect_s: null,
    peak_rss_mb: null,
    background_busy: null,
    elapsed_s: null,
    ratios: {},
  };
}

/** Appends to a row's note. */
export function addNote(result: WorkloadResult, note: string): void {
  result.note = result.note ? `${result.note}; ${note}` : note;
}
