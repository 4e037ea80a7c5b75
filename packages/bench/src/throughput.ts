// Throughput workloads: search for the highest publish rate a target sustains (zero loss,
// p99 under the limit) and report that step, or the step where the generator became the limit.
import type { LoadGroup } from './load/group.js';
import { measureStep } from './measure-step.js';
import { generatorBound, generatorBoundNote, outcome, reportedStep, searchRates } from './rate-search.js';
import { addNote, type StepResult, type WorkloadResult } from './result.js';
import type { RunningTarget } from './target.js';
import type { Workload } from './workloads.js';

/** Busy core time beyond the bench's own processes above this (in cores) means other work ran. */
const OTHER_LOAD_LIMIT = 0.3;

/** An ingest row's figures: what it is about is requests, not deliveries. */
export function perRequestNote(result: Pick<WorkloadResult, 'requests_per_s' | 'server_us_per_request' | 'steps' | 'passed'>): string {
  const first = result.steps?.[0]?.rate;
  // A generator-bound row (passed null) gives what the generator reached, not what the server sustains.
  const how = result.passed === null ? 'generator-bound' : 'sustained';
  return `${(result.requests_per_s ?? 0).toLocaleString('en-US')} requests/s ${how}; ${result.server_us_per_request ?? '-'} µs/request at ${first ?? '-'}/s`;
}

export async function throughput(running: RunningTarget, group: LoadGroup, workload: Workload, result: WorkloadResult, log: (line: string) => void): Promise<void> {
  let stepNo = 0;
  const steps: StepResult[] = [];
  const run = async (rate: number) => {
    const step = await measureStep(running, group, workload, ++stepNo, rate, workload.seconds);
    steps.push(step);
    log(
      `  ${result.target} ${workload.name} ${rate}/s: ${step.deliveries_per_s} deliveries/s, p99 ${step.p99_ms} ms, ` +
        `${step.server_us_per_delivery ?? '-'} µs/delivery (core ${step.server_core_us_per_delivery ?? '-'}), ` +
        `${step.requests_per_s} requests/s at ${step.server_us_per_request ?? '-'} µs/request, ` +
        `server ${step.server_cpu} (core ${step.server_core_busy ?? '-'}) / generator ${step.generator_cpu} (core ${step.generator_core_busy ?? '-'})` +
        (step.other_load ? `, other ${step.other_load}` : '') +
        (step.generator_bound ? ' — generator-bound' : '') +
        (step.why ? ` — ${step.why}` : ''),
    );
    // An overloaded server still has a backlog: let it empty before the next step.
    if (!step.passed && !(await group.settle(300, 15_000))) throw new Error(`still delivering 15 s after the ${rate}/s step`);
    return outcome(step);
  };

  // Warm-up: JIT, buffers and connections on both sides; not recorded.
  await measureStep(running, group, workload, 0, Math.max(1, workload.rates.start / 2), Math.min(0.5, workload.seconds));
  await searchRates(workload.rates, run);

  const best = reportedStep(steps);
  const bound = best.generator_bound ? generatorBound(best) : null;
  Object.assign(result, {
    payload_bytes: workload.payloadBytes,
    publish_rate: best.rate,
    deliveries_per_s: best.passed || bound !== null ? best.deliveries_per_s : 0,
    lost: best.lost,
    duplicates: best.duplicates,
    out_of_order: best.out_of_order,
    p50_ms: best.p50_ms,
    p90_ms: best.p90_ms,
    p99_ms: best.p99_ms,
    max_ms: best.max_ms,
    ...(best.p99_ms_by_node ? { p99_ms_by_node: best.p99_ms_by_node } : {}),
    requests_per_s: best.passed || bound !== null ? best.requests_per_s : 0,
    server_us_per_delivery: steps[0].server_us_per_delivery,
    server_us_per_request: steps[0].server_us_per_request,
    server_core_us_per_delivery: steps[0].server_core_us_per_delivery,
    generator_cpu: best.generator_cpu,
    passed: bound !== null ? null : best.passed,
    generator_bound: bound,
    steps,
  });
  const contended = Math.max(...steps.map((s) => s.other_load ?? 0));
  if (contended > OTHER_LOAD_LIMIT) addNote(result, `other work used up to ${contended} cores during the steps: figures skewed`);
  if (best.p99_ms_by_node) addNote(result, `p99 by node (publishing node first): ${best.p99_ms_by_node.join(' / ')} ms`);
  if (workload.perRequest) addNote(result, perRequestNote(result));
  if (bound !== null) addNote(result, generatorBoundNote(best, bound));
  else if (!best.passed) addNote(result, `no rate sustained (${best.rate}/s: ${best.why})`);
}
