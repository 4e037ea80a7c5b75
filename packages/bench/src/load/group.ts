// The orchestrator's handle on its load workers: spreads clients over them, sends requests,
// merges answers.
import { fileURLToPath } from 'node:url';
import { Histogram } from '../histogram.js';
import type { ClientPlan } from '../plan.js';
import { totalCpuMicros } from '../proc-stats.js';
import { maxFiles, spawnChild, type Child } from '../processes.js';
import type { ConnectResult, FromWorker, StepStats, ToWorker } from './messages.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Connections one worker holds at most (a process's open-files limit is 20,000 here). */
export const CLIENTS_PER_WORKER = 10_000;

type Pending = { resolve: (m: FromWorker) => void; reject: (e: Error) => void };

class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(readonly child: Child) {
    child.process.on('message', (message: FromWorker) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'failed') waiter.reject(new Error(`${child.name}: ${message.message}`));
      else waiter.resolve(message);
    });
    child.process.once('exit', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(child.exited() ?? `${child.name} exited`));
      this.pending.clear();
    });
  }

  request<T extends FromWorker['type']>(message: ToWorker, _expect: T): Promise<Extract<FromWorker, { type: T }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.child.exited()) return reject(new Error(this.child.exited() ?? 'worker exited'));
      this.pending.set(id, { resolve: resolve as (m: FromWorker) => void, reject });
      this.child.process.send({ ...message, id });
    });
  }
}

export interface GroupOptions {
  plan: ClientPlan;
  /** Most clients the group will hold. */
  capacity: number;
  rooms: number;
  /** Resuming clients, for the jitter workload. */
  resuming?: boolean;
  /** CPU for the workers; undefined when not pinned. */
  core?: number;
}

export interface GroupStats extends Omit<StepStats, 'latency' | 'replay'> {
  /** Latency of all deliveries, then per server node. */
  latency: Histogram;
  latencyByNode: Histogram[];
  replay: Histogram;
}

/** A set of load workers holding the clients of one workload. */
export class LoadGroup {
  private connected = 0;

  private constructor(
    private readonly workers: Worker[],
    private readonly options: GroupOptions,
  ) {}

  static start(options: GroupOptions): LoadGroup {
    const count = Math.max(1, Math.ceil(options.capacity / CLIENTS_PER_WORKER));
    const perWorker = Math.ceil(options.capacity / count);
    const workers = Array.from(
      { length: count },
      (_, i) =>
        new Worker(
          spawnChild({ name: `load-${i}`, args: [WORKER_SCRIPT], core: options.core, ipc: true, nofile: maxFiles(perWorker + 1000) }),
        ),
    );
    return new LoadGroup(workers, options);
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid);
  }

  cpuMicros(): number {
    return totalCpuMicros(this.pids);
  }

  /**
   * Connects `count` more clients, spread evenly over the workers. Above 20,000 connections the
   * clients also spread over several 127.0.0.x source addresses: each gives ~28,000 more local ports.
   */
  async connect(count: number, concurrency = 200): Promise<ConnectResult> {
    const total = this.connected + count;
    const sources = total > 20_000 ? Math.ceil(total / 20_000) : 0;
    const localAddresses = Array.from({ length: sources }, (_, i) => `127.0.0.${i + 1}`);
    const share = Math.ceil(count / this.workers.length);
    const answers = await Promise.all(
      this.workers.map((worker, i) => {
        const first = this.connected + i * share;
        const n = Math.max(0, Math.min(share, this.connected + count - first));
        const perWorker = Math.max(1, Math.ceil(concurrency / this.workers.length));
        return worker.request(
          { type: 'connect', plan: this.options.plan, first, count: n, rooms: this.options.rooms, concurrency: perWorker, localAddresses, resuming: this.options.resuming ?? false },
          'connected',
        );
      }),
    );
    this.connected = total;
    const result: ConnectResult = { open: 0, failed: 0, errors: [] };
    for (const a of answers) {
      result.open += a.open;
      result.failed += a.failed;
      result.errors.push(...a.errors);
    }
    return result;
  }

  async begin(step: number): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request({ type: 'begin', step }, 'begun')));
  }

  /** Starts (`upMs` > 0) or stops the jitter; stopping answers how many clients are still down after `timeoutMs`. */
  async jitter(upMs: number, downMs: number, timeoutMs = 0): Promise<number> {
    const answers = await Promise.all(this.workers.map((w) => w.request({ type: 'jitter', upMs, downMs, timeoutMs }, 'jittered')));
    return answers.reduce((n, a) => n + a.down, 0);
  }

  async drain(step: number, sent: number[], timeoutMs: number): Promise<GroupStats> {
    const answers = await Promise.all(this.workers.map((w) => w.request({ type: 'drain', step, sent, timeoutMs }, 'drained')));
    const nodes = this.options.plan.ports.length;
    const total: GroupStats = {
      received: 0, unique: 0, duplicates: 0, outOfOrder: 0, lost: 0, stale: 0, disconnected: 0, reconnects: 0,
      latency: new Histogram(),
      replay: new Histogram(),
      latencyByNode: Array.from({ length: nodes }, () => new Histogram()),
    };
    for (const { stats } of answers) {
      total.received += stats.received;
      total.unique += stats.unique;
      total.duplicates += stats.duplicates;
      total.outOfOrder += stats.outOfOrder;
      total.lost += stats.lost;
      total.stale += stats.stale;
      total.disconnected += stats.disconnected;
      total.reconnects += stats.reconnects;
      total.replay.merge(Histogram.from(stats.replay));
      stats.latency.forEach((h, node) => {
        const histogram = Histogram.from(h);
        total.latency.merge(histogram);
        total.latencyByNode[node]?.merge(histogram);
      });
    }
    return total;
  }

  /** Waits until no publication has arrived for `quietMs` on any worker; false when that took longer than `timeoutMs`. */
  async settle(quietMs: number, timeoutMs: number): Promise<boolean> {
    const answers = await Promise.all(this.workers.map((w) => w.request({ type: 'settle', quietMs, timeoutMs }, 'settled')));
    return answers.every((a) => a.quiet);
  }

  /** Closes every client (with resets), then stops the workers. */
  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.request({ type: 'close' }, 'closed')));
    await Promise.all(this.workers.map((w) => w.child.stop()));
  }
}
