// A load-generator process: holds bench clients and answers the orchestrator's requests
// (connect, begin a step, drain it, close). Started pinned to the generator's core.
import { createClient, type BenchClient } from './bench-clients.js';
import type { ConnectResult, FromWorker, Request, StepStats } from './messages.js';
import { nowMicros } from '../payload.js';
import { ResumingClient, type Jitter } from './resuming-client.js';
import { StepState } from './tracker.js';

const CONNECT_TIMEOUT_MS = 15_000;

const state = new StepState();
const clients: BenchClient[] = [];
let nodes = 1;
const jitter: Jitter = { upMs: 0, downMs: 1000 };

function reply(message: FromWorker): void {
  process.send?.(message);
}

function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`not ready after ${ms} ms`)), ms).unref());
}

async function connect(request: Extract<Request, { type: 'connect' }>): Promise<ConnectResult> {
  nodes = request.plan.ports.length;
  const errors = new Map<string, number>();
  let open = 0;
  let failed = 0;
  let next = 0;
  const lane = async () => {
    while (next < request.count) {
      const index = request.first + next++;
      const local = request.localAddresses.length > 0 ? request.localAddresses[index % request.localAddresses.length] : undefined;
      const client = createClient(request.plan, index, request.rooms, state, local, request.resuming ? jitter : undefined);
      try {
        await Promise.race([client.ready, timeout(CONNECT_TIMEOUT_MS)]);
        clients.push(client);
        open++;
      } catch (err) {
        failed++;
        client.close();
        const reason = (err as Error).message;
        errors.set(reason, (errors.get(reason) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.count) }, lane));
  return { open, failed, errors: [...errors].slice(0, 5).map(([reason, n]) => `${n}× ${reason}`) };
}

function begin(step: number): void {
  state.begin(step, nodes);
  for (const client of clients) client.tracker.reset();
}

/** Applies the jitter to every client; when it is turned off, waits for them to be back up and answers how many are not. */
async function setJitter(request: Extract<Request, { type: 'jitter' }>): Promise<number> {
  Object.assign(jitter, { upMs: request.upMs, downMs: request.downMs });
  for (const client of clients) if (client instanceof ResumingClient) client.scheduleKill();
  if (request.upMs > 0) return 0;
  const deadline = Date.now() + request.timeoutMs;
  const down = () => clients.reduce((n, c) => n + (c.isOpen ? 0 : 1), 0);
  while (down() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return down();
}

/** Waits until every client has all of its room's publications, or the timeout; then counts. */
async function drain(request: Extract<Request, { type: 'drain' }>): Promise<StepStats> {
  if (request.step !== state.step) throw new Error(`drain of step ${request.step} while measuring step ${state.step}`);
  const behind = () => clients.some((c) => c.isOpen && c.tracker.unique < (request.sent[c.tracker.room] ?? 0));
  const deadline = Date.now() + request.timeoutMs;
  while (behind() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const stats: StepStats = { received: 0, unique: 0, duplicates: 0, outOfOrder: 0, lost: 0, stale: state.stale, disconnected: 0, reconnects: 0, latency: [], replay: state.replay.toJSON() };
  for (const { tracker, isOpen } of clients) {
    stats.received += tracker.received;
    stats.unique += tracker.unique;
    stats.duplicates += tracker.duplicates;
    stats.outOfOrder += tracker.outOfOrder;
    stats.lost += Math.max(0, (request.sent[tracker.room] ?? 0) - tracker.unique);
    stats.reconnects += tracker.reconnects;
    if (!isOpen) stats.disconnected++;
  }
  stats.latency = state.latency.map((h) => h.toJSON());
  return stats;
}

async function settle(quietMs: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (nowMicros() - state.lastAt >= quietMs * 1000) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

function closeAll(): void {
  for (const client of clients) client.close();
  clients.length = 0;
}

async function handle(request: Request): Promise<FromWorker> {
  switch (request.type) {
    case 'connect':
      return { type: 'connected', id: request.id, ...(await connect(request)) };
    case 'begin':
      begin(request.step);
      return { type: 'begun', id: request.id };
    case 'jitter':
      return { type: 'jittered', id: request.id, down: await setJitter(request) };
    case 'drain':
      return { type: 'drained', id: request.id, stats: await drain(request) };
    case 'settle':
      return { type: 'settled', id: request.id, quiet: await settle(request.quietMs, request.timeoutMs) };
    case 'close':
      closeAll();
      return { type: 'closed', id: request.id };
  }
}

process.on('message', (request: Request) => {
  handle(request).then(reply, (err: Error) => reply({ type: 'failed', id: request.id, message: err.stack ?? String(err) }));
});

// The orchestrator is gone (finished, crashed or killed): close everything and leave.
process.on('disconnect', () => {
  closeAll();
  process.exit(0);
});
