import type { Random } from './random.js';

/**
 * - `baseline`: no fault, publishing only;
 * - `cuts`: the proxies cut random client connections;
 * - `inversions`: bursts of publishes to one channel through two nodes at once, so that their ids
 *   (minted by each node) may sort against their offsets; a client that sees a lower id after a
 *   higher one on a channel is cut right then;
 * - `node-kill`: `kill -9` of one node; its proxy sends reconnects to another; then it is restarted;
 * - `redis-restart`: Redis stopped, left down, started again without its data.
 */
export type FaultKind = 'baseline' | 'cuts' | 'inversions' | 'node-kill' | 'redis-restart';

export const FAULT_KINDS: readonly FaultKind[] = ['baseline', 'cuts', 'inversions', 'node-kill', 'redis-restart'];

export interface WindowPlan {
  /** `3 node-kill` */
  name: string;
  kind: FaultKind;
  /** How long the fault lasts; the window then settles until clients caught up (at most `settleMaxMs`). */
  durationMs: number;
  /** node-kill: which node (0-based). */
  node?: number;
}

export type ClientKind = 'ws-sdk' | 'ws-raw' | 'socketio' | 'sse';

export const CLIENT_KINDS: readonly ClientKind[] = ['ws-sdk', 'ws-raw', 'socketio', 'sse'];

export interface ChaosSize {
  name: 'full' | 'quick' | 'ci';
  nodes: number;
  clients: Record<ClientKind, number>;
  tenants: number;
  channelsPerTenant: number;
  /** Each client subscribes to between min and max channels of its tenant. */
  channelsPerClient: [number, number];
  /** Publications per second, all lanes together. */
  publishRate: number;
  /** Publishes under way at once. */
  publishLanes: number;
  /** Share of publications sent to 2-3 channels at once (`channels: [...]`). */
  multiChannelShare: number;
  /** Inversion windows: one burst of 4 simultaneous publishes to a channel through two nodes every this many ms. */
  inversionBurstEveryMs: number;
  /** Cuts windows: one round of cuts every [min, max] ms, each cutting this share of a proxy's connections. */
  cutEveryMs: [number, number];
  cutShare: number;
  /** node-kill: how long the node stays dead before it is started again. */
  nodeDownMs: number;
  /** redis-restart: how long Redis stays down. */
  redisDownMs: number;
  settleMaxMs: number;
  /** After the last window: how long to wait for the last deliveries. */
  drainMaxMs: number;
  windows: WindowPlan[];
}

const window = (index: number, kind: FaultKind, durationMs: number, node?: number): WindowPlan => ({
  name: `${index} ${kind}`,
  kind,
  durationMs,
  ...(node !== undefined ? { node } : {}),
});

/** Every fault once, in a fixed order, short: for CI and `--quick`. */
function shortWindows(): WindowPlan[] {
  return [window(1, 'baseline', 3000), window(2, 'cuts', 5000), window(3, 'inversions', 5000), window(4, 'node-kill', 6000, 1), window(5, 'redis-restart', 6000)];
}

/** A baseline, then every fault `repeats` times in a random order (never two of a kind in a row where avoidable). */
function fullWindows(random: Random, repeats: number): WindowPlan[] {
  const kinds: FaultKind[] = [];
  for (let r = 0; r < repeats; r++) kinds.push(...random.sample(['cuts', 'inversions', 'node-kill', 'redis-restart'] as FaultKind[], 4));
  for (let i = 1; i < kinds.length; i++) {
    if (kinds[i] === kinds[i - 1] && i + 1 < kinds.length) [kinds[i], kinds[i + 1]] = [kinds[i + 1], kinds[i]];
  }
  const plans = [window(1, 'baseline', 5000)];
  let kills = 0;
  for (const kind of kinds) plans.push(window(plans.length + 1, kind, kind === 'node-kill' || kind === 'redis-restart' ? 9000 : 8000, kind === 'node-kill' ? kills++ % 3 : undefined));
  return plans;
}

export function chaosSize(name: ChaosSize['name'], random: Random): ChaosSize {
  if (name === 'full') {
    return {
      name,
      nodes: 3,
      clients: { 'ws-sdk': 25, 'ws-raw': 25, socketio: 50, sse: 50 },
      tenants: 3,
      channelsPerTenant: 5,
      channelsPerClient: [2, 3],
      publishRate: 40,
      publishLanes: 6,
      multiChannelShare: 0.25,
      inversionBurstEveryMs: 100,
      cutEveryMs: [300, 900],
      cutShare: 0.3,
      nodeDownMs: 3000,
      redisDownMs: 3000,
      settleMaxMs: 15_000,
      drainMaxMs: 30_000,
      windows: fullWindows(random, 3),
    };
  }
  return {
    name,
    nodes: 3,
    clients: { 'ws-sdk': 6, 'ws-raw': 6, socketio: 9, sse: 9 },
    tenants: 3,
    channelsPerTenant: 4,
    channelsPerClient: [2, 3],
    publishRate: 25,
    publishLanes: 4,
    multiChannelShare: 0.25,
    inversionBurstEveryMs: 100,
    cutEveryMs: [300, 800],
    cutShare: 0.4,
    nodeDownMs: 2500,
    redisDownMs: 2500,
    settleMaxMs: 12_000,
    drainMaxMs: 20_000,
    windows: shortWindows(),
  };
}
