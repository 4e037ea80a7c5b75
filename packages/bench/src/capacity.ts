// The capacity workload: memory per idle connection.
import type { LoadGroup } from './load/group.js';
import { totalMemory } from './proc-stats.js';
import { addNote, type WorkloadResult } from './result.js';
import type { RunningTarget } from './target.js';
import { round, sleep } from './util.js';
import type { Workload } from './workloads.js';

export async function capacity(running: RunningTarget, group: LoadGroup, workload: Workload, warm: number, result: WorkloadResult, log: (line: string) => void): Promise<void> {
  // A few connections first, so that code loaded on first use is not counted per connection.
  const first = await group.connect(warm);
  if (first.open < warm) throw new Error(`warm-up connections failed: ${first.errors.join('; ')}`);
  await sleep(200);
  const before = totalMemory(running.pids).rssKb;
  const t0 = performance.now();
  const connected = await group.connect(workload.clients);
  const connectSeconds = (performance.now() - t0) / 1000;
  await sleep(workload.settleMs ?? 2000);
  const after = totalMemory(running.pids).rssKb;
  result.connected = connected.open;
  result.connect_s = round(connectSeconds, 1);
  result.rss_per_conn_kb = connected.open > 0 ? round((after - before) / connected.open) : null;
  log(`  ${result.target} capacity: ${connected.open} idle connections in ${result.connect_s} s, ${result.rss_per_conn_kb} KiB each`);
  if (connected.failed > 0) addNote(result, `${connected.failed} of ${workload.clients} failed to connect: ${connected.errors.join('; ')}`);
}

