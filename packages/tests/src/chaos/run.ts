import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig, signToken } from '@herald/server';
import { TEST_API_KEY, TEST_SECRET } from '@herald/server/testing';
import type { ChaosClient, ClientContext } from './clients/common.js';
import { startRawWsClient } from './clients/raw-ws.js';
import { startSdkClient } from './clients/sdk.js';
import { startSocketIoClient } from './clients/socketio.js';
import { startSseClient } from './clients/sse.js';
import { runFault } from './faults.js';
import { Ledger, type Analysis, type ClientInfo } from './ledger.js';
import { CLIENT_KINDS, chaosSize, type ChaosSize, type ClientKind } from './plan.js';
import { Publisher } from './publisher.js';
import { seededRandom } from './random.js';
import { failureDetails, splitIdLines, summaryLine, tables, verdict, windowsTable, type Verdict } from './report.js';
import { startStage, type Stage } from './stage.js';

export interface ChaosOptions {
  size: ChaosSize['name'];
  seed?: number;
  /** Progress lines; default none. */
  log?: (line: string) => void;
  /** Writes everything the ledger recorded to this file (JSON). */
  dump?: string;
  /** Self-check: raw WebSocket clients resubscribe without `since`; the run must then fail for them. */
  sabotage?: boolean;
}

export interface ChaosResult {
  size: ChaosSize;
  seed: number;
  durationMs: number;
  analysis: Analysis;
  verdict: Verdict;
  /** The whole report, Markdown. */
  text: string;
}

const STARTERS: Record<ClientKind, (info: ClientInfo, ctx: ClientContext) => ChaosClient> = {
  'ws-sdk': startSdkClient,
  'ws-raw': startRawWsClient,
  socketio: startSocketIoClient,
  sse: startSseClient,
};

/** Kinds interleaved (a, b, c, d, a, b, …) so that tenants and nodes get every kind. */
function clientKinds(size: ChaosSize): ClientKind[] {
  const left = { ...size.clients };
  const out: ClientKind[] = [];
  while (CLIENT_KINDS.some((k) => left[k] > 0)) {
    for (const k of CLIENT_KINDS) {
      if (left[k] > 0) {
        out.push(k);
        left[k] -= 1;
      }
    }
  }
  return out;
}

/**
 * Waits until the clients caught up with what was acknowledged a second ago (or what they miss
 * stopped changing: a loss), every client is up, and at least `minMs` passed.
 */
async function settle(ledger: Ledger, clients: ChaosClient[], maxMs: number, minMs = 1000): Promise<void> {
  const start = Date.now();
  let last = -1;
  let stableSince = start;
  while (Date.now() - start < maxMs) {
    await sleep(250);
    const outstanding = ledger.outstanding(1000);
    if (outstanding !== last) {
      last = outstanding;
      stableSince = Date.now();
    }
    const up = clients.every((c) => c.connected());
    if (up && Date.now() - start >= minMs && (outstanding === 0 || Date.now() - stableSince >= 2500)) return;
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const log = options.log ?? (() => {});
  const random = seededRandom(seed);
  const size = chaosSize(options.size, random);
  const ledger = new Ledger();
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  log(`chaos run ${size.name}, seed ${seed}: ${size.nodes} nodes, ${Object.entries(size.clients).map(([k, n]) => `${n} ${k}`).join(', ')}, ${size.tenants} tenants, ${size.windows.length} windows`);

  let stage: Stage | undefined;
  const clients: ChaosClient[] = [];
  let publisher: Publisher | undefined;
  let fatal: Error | undefined;
  try {
    stage = await startStage(size.nodes);
    log(`[${elapsed()}] redis on ${stage.redis.url}; nodes ${stage.nodeUrls().join(' ')}`);
    const tenants = Array.from({ length: size.tenants }, (_, i) => `t${i}`);
    const channels = Array.from({ length: size.channelsPerTenant }, (_, i) => `room-${i}`);
    const tokenConfig = parseConfig({ auth: { jwt: { secret: TEST_SECRET } } }, 'chaos');
    let inversionCuts = false;

    const kinds = clientKinds(size);
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[i];
      const tenant = tenants[i % tenants.length];
      const node = Math.floor(i / tenants.length) % size.nodes;
      const info: ClientInfo = {
        id: `${kind}-${String(i).padStart(3, '0')}@n${node + 1}`,
        kind,
        tenant,
        channels: random.sample(channels, random.int(...size.channelsPerClient)),
        oncePerPublication: kind === 'socketio',
      };
      ledger.addClient(info);
      const ctx: ClientContext = {
        ledger,
        proxy: stage.proxies[node],
        token: await signToken(tokenConfig, { sub: info.id, tenant }, 3600),
        random: seededRandom(seed + i + 1),
        inversionCuts: () => inversionCuts,
        ...(options.sabotage ? { sabotage: true } : {}),
      };
      clients.push(STARTERS[kind](info, ctx));
      // A few at a time, as real clients would not all arrive in one millisecond.
      if (i % 10 === 9) await sleep(50);
    }
    const allReady = Promise.all(clients.map((c) => c.ready));
    const timedOut = await Promise.race([allReady.then(() => false), sleep(30_000).then(() => true)]);
    if (timedOut) {
      const waiting = clients.filter((c) => !c.connected()).map((c) => c.info.id);
      throw new Error(`clients not subscribed after 30 s: ${waiting.join(', ')}`);
    }
    log(`[${elapsed()}] ${clients.length} clients subscribed`);

    publisher = new Publisher({
      ledger,
      random,
      apiKey: TEST_API_KEY,
      nodes: () => stage!.nodeUrls(),
      tenants,
      channels,
      rate: size.publishRate,
      lanes: size.publishLanes,
      multiChannelShare: size.multiChannelShare,
      inversionBurstEveryMs: size.inversionBurstEveryMs,
      tag: `c${seed.toString(36)}`,
      onFatal: (err) => (fatal ??= err),
    });
    publisher.start();

    for (const w of size.windows) {
      ledger.beginWindow(w.name, w.kind);
      log(`[${elapsed()}] window ${w.name}`);
      await runFault(w, { stage, ledger, publisher, random, size, inversionCuts: (on) => (inversionCuts = on), log });
      if (fatal) throw fatal;
      await settle(ledger, clients, size.settleMaxMs);
      const f = ledger.currentWindow.faults;
      log(`[${elapsed()}]   done: ${Object.entries(f).map(([k, v]) => `${k} ${v}`).join(', ') || 'no faults'}; outstanding ${ledger.outstanding(1000)}`);
    }
    await publisher.stop();
    if (fatal) throw fatal;
    log(`[${elapsed()}] publishing stopped; draining`);
    await settle(ledger, clients, size.drainMaxMs, 2000);
  } finally {
    await publisher?.stop().catch(() => {});
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await stage?.close().catch(() => {});
    lag.disable();
  }

  const endedAt = Date.now();
  if (options.dump) writeFileSync(options.dump, JSON.stringify(ledger.dump()));
  const analysis = ledger.analyse();
  const v = verdict(analysis);
  const p = analysis.publications;
  const text = [
    `## Chaos run: ${size.name}, seed ${seed}${options.sabotage ? ' (SABOTAGED: raw WebSocket clients resubscribe without since)' : ''}`,
    '',
    `${size.nodes} Herald nodes (processes) on one redis-server, each behind a TCP proxy; ${clients.length} clients (${Object.entries(size.clients)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}) in ${size.tenants} tenants with the same channel names, ${size.channelsPerClient.join('-')} channels each; ` +
      `${(analysis.publications.total / Math.max(1, (endedAt - started) / 1000)).toFixed(0)} publications/s on average. ` +
      `Ran ${((endedAt - started) / 1000).toFixed(0)} s; runner event-loop delay p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms, max ${(lag.max / 1e6).toFixed(0)} ms.`,
    '',
    `Publications: ${p.total} made, ${p.acked} acknowledged (${p.ackedAfterRetry} after a retry, ${p.ackedAsDuplicate} of them answered as already stored through their idempotency key), ${p.gaveUp} given up; ${p.inversions} times two publications next to each other in a channel had ids that sort against their offsets.`,
    '',
    windowsTable(analysis, endedAt),
    '',
    tables(analysis),
    summaryLine(v, analysis),
    ...(analysis.splitIds.length ? ['', '### Publications with more than one id', '', splitIdLines(analysis)] : []),
    ...(v.failures.length ? ['', '### Failures', '', failureDetails(analysis, v)] : []),
    '',
  ].join('\n');
  return { size, seed, durationMs: endedAt - started, analysis, verdict: v, text };
}
