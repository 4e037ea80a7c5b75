// The jitter workload: publish at a steady rate while every client's socket is killed at random
// and comes back, then count what each client got over its whole lifetime across reconnects.
import type { GroupStats, LoadGroup } from './load/group.js';
import { latencyFigures, ms } from './measure-step.js';
import { publishAtRate } from './publisher.js';
import { addNote, type WorkloadResult } from './result.js';
import type { RunningTarget } from './target.js';
import { round } from './util.js';
import type { Workload } from './workloads.js';

/** How long the clients may take to be back up once the jitter stops, and stragglers to arrive. */
const BACK_UP_MS = 15_000;
const DRAIN_MS = 3000;

export interface JitterFigures {
  /** Distinct publications received / expected (publications sent × clients), in %. */
  delivered_pct: number;
  duplicates: number;
  replay_p99_ms: number;
  reconnects: number;
}

/** The figures of a drained jitter run: `lost` counts each client's missing distinct publications. */
export function jitterFigures(stats: Pick<GroupStats, 'unique' | 'lost' | 'duplicates' | 'reconnects' | 'replay'>): JitterFigures {
  const expected = stats.unique + stats.lost;
  return {
    delivered_pct: expected > 0 ? round((stats.unique / expected) * 100, 2) : 0,
    duplicates: stats.duplicates,
    replay_p99_ms: ms(stats.replay.quantile(0.99)),
    reconnects: stats.reconnects,
  };
}

export async function jitter(running: RunningTarget, group: LoadGroup, workload: Workload, result: WorkloadResult, log: (line: string) => void): Promise<void> {
  const { upMs, downMs } = workload.jitter ?? { upMs: 5000, downMs: 1000 };
  const step = 1;
  await group.begin(step);
  await group.jitter(upMs, downMs);
  const pub = await publishAtRate(running.publish, { step, rate: workload.rates.start, seconds: workload.seconds, rooms: workload.rooms, payloadBytes: workload.payloadBytes, batch: 1 });
  const down = await group.jitter(0, downMs, BACK_UP_MS);
  const stats = await group.drain(step, pub.sent, DRAIN_MS);
  const figures = jitterFigures(stats);
  Object.assign(result, {
    ...figures,
    payload_bytes: workload.payloadBytes,
    publish_rate: workload.rates.start,
    lost: stats.lost,
    out_of_order: stats.outOfOrder,
    ...latencyFigures(stats.latency),
    passed: stats.lost === 0 && stats.duplicates === 0 && down === 0 && pub.failedRequests === 0,
  });
  const line = `delivered ${figures.delivered_pct} %, ${figures.duplicates} duplicates, replay p99 ${figures.replay_p99_ms} ms, ${figures.reconnects} reconnects`;
  addNote(result, line);
  if (down > 0) addNote(result, `${down} clients not back up ${BACK_UP_MS / 1000} s after the jitter stopped`);
  if (pub.failedRequests > 0) addNote(result, `${pub.failedRequests} publish requests failed (${pub.firstError})`);
  log(`  ${result.target} jitter: ${line}`);
}
