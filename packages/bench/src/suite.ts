// Runs every workload against every target, peers first, skipping targets that cannot run here.
import { runWorkload, type RunOptions } from './run-workload.js';
import { emptyResult, type WorkloadResult } from './result.js';
import { TargetUnavailable, type Target } from './target.js';
import type { Workload } from './workloads.js';

/**
 * A workload may name the only targets it runs (always, or in quick runs); multi-node targets run
 * only such named workloads in quick runs. Targets the user asked for by name (`--targets`) drop
 * the quick run's cuts: `--quick --targets herald-redis-2,socketio-redis-2 --workloads fan-out`
 * runs both, so a Herald row and its peer's come out of the same quick run.
 */
export function applies(target: Target, workload: Workload, quick: boolean, askedFor = false): boolean {
  if (workload.targets && !workload.targets.includes(target.name)) return false;
  if (target.onlyNamed && !workload.targets?.includes(target.name)) return false;
  if (!quick || askedFor) return true;
  if (workload.quickTargets && !workload.quickTargets.includes(target.name)) return false;
  return target.nodes === 1 || workload.targets !== undefined;
}

export async function runSuite(targets: Target[], workloads: Workload[], options: RunOptions & { quick: boolean; askedFor?: boolean }): Promise<WorkloadResult[]> {
  const results: WorkloadResult[] = [];
  const unavailable = new Map<string, string>();
  for (const workload of workloads) {
    const chosen = targets.filter((t) => applies(t, workload, options.quick, options.askedFor));
    if (chosen.length === 0) continue;
    options.log(`${workload.name}: ${workload.clients} clients, ${workload.rooms} room(s)`);
    for (const target of chosen) {
      const known = unavailable.get(target.name);
      if (known) {
        results.push({ ...emptyResult(target.name, workload), status: 'skipped', note: known });
        continue;
      }
      try {
        results.push(await runWorkload(target, workload, options));
      } catch (err) {
        if (!(err instanceof TargetUnavailable)) {
          options.log(`  ${target.name}: ${(err as Error).message}`);
          results.push({ ...emptyResult(target.name, workload), status: 'error', note: (err as Error).message });
          continue;
        }
        const reason = `not available: ${err.message}`;
        unavailable.set(target.name, reason);
        options.log(`  ${target.name}: ${reason}`);
        results.push({ ...emptyResult(target.name, workload), status: 'skipped', note: reason });
      }
    }
  }
  return results;
}
