// One measured step: publish at a rate for a while, drain, and count what arrived, how late,
// and what it cost the server and the generator.
import type { Histogram } from './histogram.js';
import type { GroupStats, LoadGroup } from './load/group.js';
import { coreTime, totalCpuMicros } from './proc-stats.js';
import { pinningEnabled } from './processes.js';
import { publishAtRate, type PublishResult } from './publisher.js';
import { stepGeneratorBound } from './rate-search.js';
import type { StepResult } from './result.js';
import { GENERATOR_CORE, SERVER_CORE, type RunningTarget } from './target.js';
import { round } from './util.js';
import { P99_LIMIT_MS, type Workload } from './workloads.js';

/** How long stragglers of a step may take to arrive before they count as lost. */
const DRAIN_MS = 3000;
/** Microseconds as milliseconds, to the microsecond. */
export const ms = (micros: number) => round(micros / 1000, 3);

/** A step's latency quantiles as every result reports them. */
export function latencyFigures(latency: Histogram): { p50_ms: number; p90_ms: number; p99_ms: number; max_ms: number } {
  return {
    p50_ms: ms(latency.quantile(0.5)),
    p90_ms: ms(latency.quantile(0.9)),
    p99_ms: ms(latency.quantile(0.99)),
    max_ms: ms(latency.max),
  };
}

/**
 * A step's figures per publish request: the requests answered with success per second, and the
 * server's CPU over every request sent (failed ones cost the server too).
 */
export function requestFigures(serverMicros: number, pub: Pick<PublishResult, 'requests' | 'failedRequests'>, seconds: number): { requests_per_s: number; server_us_per_request: number | null } {
  return {
    requests_per_s: Math.round((pub.requests - pub.failedRequests) / seconds),
    server_us_per_request: pub.requests > 0 ? round(serverMicros / pub.requests, 3) : null,
  };
}

function selfCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Why a step does not count as sustained, or undefined when it does. */
function failures(rate: number, achieved: number, stats: GroupStats, p99: number, publishErrors: number, firstError?: string): string | undefined {
  const why: string[] = [];
  if (stats.lost > 0) why.push(`${stats.lost} lost`);
  if (stats.duplicates > 0) why.push(`${stats.duplicates} duplicates`);
  if (stats.outOfOrder > 0) why.push(`${stats.outOfOrder} out of order`);
  if (p99 >= P99_LIMIT_MS) why.push(`p99 ${round(p99, 1)} ms`);
  if (publishErrors > 0) why.push(`${publishErrors} publish requests failed (${firstError})`);
  if (achieved < rate * 0.95) why.push(`publisher reached ${Math.round(achieved)}/s`);
  if (stats.disconnected > 0) why.push(`${stats.disconnected} clients disconnected`);
  return why.length > 0 ? why.join(', ') : undefined;
}

export async function measureStep(running: RunningTarget, group: LoadGroup, workload: Workload, step: number, rate: number, seconds: number): Promise<StepResult> {
  await group.begin(step);
  const server0 = totalCpuMicros(running.pids);
  const helpers0 = totalCpuMicros(running.helperPids);
  const generator0 = group.cpuMicros() + selfCpuMicros();
  const pinned = pinningEnabled();
  const serverCore0 = coreTime(SERVER_CORE);
  const generatorCore0 = coreTime(GENERATOR_CORE);
  const t0 = performance.now();
  const pub = await publishAtRate(running.publish, { step, rate, seconds, rooms: workload.rooms, payloadBytes: workload.payloadBytes, batch: workload.batch });
  const stats = await group.drain(step, pub.sent, DRAIN_MS);
  const wall = (performance.now() - t0) * 1000;
  const server = totalCpuMicros(running.pids) - server0;
  const helpers = totalCpuMicros(running.helperPids) - helpers0;
  const generator = group.cpuMicros() + selfCpuMicros() - generator0;
  const serverCore1 = coreTime(SERVER_CORE);
  const generatorCore1 = coreTime(GENERATOR_CORE);
  const serverCore = pinned ? serverCore1.busy - serverCore0.busy : null;
  const generatorCore = pinned ? generatorCore1.busy - generatorCore0.busy : null;
  // Process time on the cores that none of our processes account for: other work on the machine.
  const otherLoad = pinned
    ? Math.max(serverCore1.tasks - serverCore0.tasks - server - helpers, generatorCore1.tasks - generatorCore0.tasks - generator, 0)
    : null;
  const p99 = stats.latency.quantile(0.99) / 1000;
  const why = failures(rate, pub.achievedRate, stats, p99, pub.failedRequests, pub.firstError);
  const generatorCpu = round(generator / wall);
  const generatorCoreBusy = generatorCore !== null ? round(generatorCore / wall) : null;
  return {
    rate,
    achieved_rate: Math.round(pub.achievedRate),
    deliveries_per_s: Math.round(stats.received / seconds),
    received: stats.received,
    lost: stats.lost,
    duplicates: stats.duplicates,
    out_of_order: stats.outOfOrder,
    stale: stats.stale,
    disconnected: stats.disconnected,
    ...latencyFigures(stats.latency),
    ...(stats.latencyByNode.length > 1 ? { p99_ms_by_node: stats.latencyByNode.map((h) => ms(h.quantile(0.99))) } : {}),
    server_us_per_delivery: stats.received > 0 ? round(server / stats.received, 3) : null,
    ...requestFigures(server, pub, seconds),
    server_core_us_per_delivery: serverCore !== null && stats.received > 0 ? round(serverCore / stats.received, 3) : null,
    server_cpu: round(server / wall),
    server_core_busy: serverCore !== null ? round(serverCore / wall) : null,
    generator_cpu: generatorCpu,
    generator_core_busy: generatorCoreBusy,
    other_load: otherLoad !== null ? round(otherLoad / wall) : null,
    publish_errors: pub.failedRequests,
    passed: why === undefined,
    generator_bound: stepGeneratorBound({ passed: why === undefined, generator_cpu: generatorCpu, generator_core_busy: generatorCoreBusy }),
    ...(why ? { why } : {}),
  };
}

