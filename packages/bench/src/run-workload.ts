// Runs one workload against one target: start it, connect clients, measure, stop everything.
import { capacity } from './capacity.js';
import { jitter } from './jitter.js';
import { LoadGroup } from './load/group.js';
import { coreTime, totalMemory } from './proc-stats.js';
import { maxFiles, pinningEnabled } from './processes.js';
import { addNote, emptyResult, type WorkloadResult } from './result.js';
import { GENERATOR_CORE, SERVER_CORE, type Target } from './target.js';
import { throughput } from './throughput.js';
import { round, sleep } from './util.js';
import type { Workload } from './workloads.js';

/** A core busier than this before a run means other work is running on the machine. */
const QUIET_BUSY = 0.2;

export interface RunOptions {
  cpuProfileDir?: string;
  /** Before each workload, wait up to this long for the machine to be idle (other load skews figures). */
  waitQuietSeconds?: number;
  /** Progress lines go here. */
  log: (line: string) => void;
}

/** Busy fraction of each core over `ms`, while none of our processes run. */
async function backgroundBusy(ms: number): Promise<number[]> {
  const cores = [SERVER_CORE, GENERATOR_CORE];
  const before = cores.map((c) => coreTime(c).busy);
  await sleep(ms);
  return cores.map((c, i) => round((coreTime(c).busy - before[i]) / (ms * 1000)));
}

export async function runWorkload(target: Target, workload: Workload, options: RunOptions): Promise<WorkloadResult> {
  const result = emptyResult(target.name, workload);
  const began = performance.now();
  result.background_busy = await backgroundBusy(100);
  const quietBy = performance.now() + (options.waitQuietSeconds ?? 0) * 1000;
  while (result.background_busy.some((b) => b > QUIET_BUSY) && performance.now() < quietBy) {
    result.background_busy = await backgroundBusy(500);
  }
  if (result.background_busy.some((b) => b > QUIET_BUSY)) {
    addNote(result, `machine busy before the run (${result.background_busy.join(' / ')} cores): figures skewed`);
  }
  const warm = workload.kind === 'capacity' ? Math.min(200, Math.ceil(workload.clients / 50)) : 0;
  // A server process needs a file descriptor per connection, plus some of its own.
  const perNode = Math.ceil((workload.clients + warm) / target.nodes) + 1000;
  const allowed = maxFiles(perNode);
  if (allowed < perNode) {
    const clients = Math.max(0, (allowed - 1000) * target.nodes - warm);
    addNote(result, `${workload.clients} connections need ${perNode} open files per server process; this machine allows ${allowed}, so ${clients} were opened`);
    workload = { ...workload, clients };
  }
  const running = await target.start({ connections: workload.clients + warm, cpuProfileDir: options.cpuProfileDir, history: workload.history });
  let group: LoadGroup | undefined;
  try {
    group = LoadGroup.start({
      plan: running.clients,
      capacity: workload.clients + warm,
      rooms: workload.rooms,
      core: pinningEnabled() ? GENERATOR_CORE : undefined,
      resuming: workload.kind === 'jitter',
    });
    if (workload.kind === 'capacity') await capacity(running, group, workload, warm, result, options.log);
    else {
      const connected = await group.connect(workload.clients);
      result.connected = connected.open;
      if (connected.open === 0) throw new Error(`no client connected: ${connected.errors.join('; ')}`);
      if (connected.failed > 0) addNote(result, `${connected.failed} of ${workload.clients} failed to connect: ${connected.errors.join('; ')}`);
      if (workload.kind === 'jitter') await jitter(running, group, workload, result, options.log);
      else await throughput(running, group, workload, result, options.log);
    }
    result.peak_rss_mb = round(totalMemory(running.pids).peakKb / 1024, 1);
  } catch (err) {
    result.status = 'error';
    addNote(result, (err as Error).message);
  } finally {
    await group?.close();
    await running.stop();
  }
  result.elapsed_s = round((performance.now() - began) / 1000, 1);
  return result;
}
