// Ratios against the peers, the stdout table, and the JSON file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname } from 'node:path';
import { RATIO_METRICS, type WorkloadResult } from './result.js';

/** Fills each row's `ratios`: its figure divided by each peer's on the same workload of this run. */
export function addRatios(results: WorkloadResult[], peers: string[]): void {
  for (const row of results) {
    if (row.status !== 'ok') continue;
    for (const peer of peers) {
      if (peer === row.target) continue;
      const base = results.find((r) => r.target === peer && r.workload === row.workload && r.status === 'ok');
      if (!base) continue;
      const ratios: WorkloadResult['ratios'][string] = {};
      for (const metric of RATIO_METRICS) {
        const mine = row[metric];
        const theirs = base[metric];
        if (typeof mine === 'number' && typeof theirs === 'number' && theirs > 0) ratios[metric] = Number((mine / theirs).toFixed(2));
      }
      if (Object.keys(ratios).length > 0) row.ratios[peer] = ratios;
    }
  }
}

/** The peers shown as their own columns of the table (every peer's ratios are in the JSON). */
export const BASELINE_PEERS = ['ws-reference', 'socketio-plain'];

/** Each Herald target's strongest peers: what it is measured against in the last ratio column. */
export const STRONGEST_PEERS: Record<string, string[]> = {
  'herald-ws': ['ws-corked', 'uws'],
  'herald-socketio': ['socketio-plain'],
  'herald-redis-2': ['socketio-redis-2'],
};

const fmt = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined ? '-' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function vs(row: WorkloadResult, peer: string): string {
  const r = row.ratios[peer];
  if (!r) return '-';
  if (row.workload === 'capacity') return r.rss_per_conn_kb !== undefined ? `rss ×${r.rss_per_conn_kb}` : '-';
  const parts: string[] = [];
  if (r.server_us_per_delivery !== undefined) parts.push(`µs ×${r.server_us_per_delivery}`);
  if (r.deliveries_per_s !== undefined) parts.push(`d/s ×${r.deliveries_per_s}`);
  return parts.join(' ') || '-';
}

/** The last ratio column: the row against each of its strongest peers that ran. */
export function vsStrongest(row: WorkloadResult): string {
  const parts = (STRONGEST_PEERS[row.target] ?? []).filter((p) => row.ratios[p]).map((p) => `${p} ${vs(row, p)}`);
  return parts.join('; ') || '-';
}

export function table(results: WorkloadResult[], allPeers: string[]): string {
  const peers = allPeers.filter((p) => BASELINE_PEERS.includes(p));
  const header = ['workload', 'target', 'clients', 'rooms', 'deliveries/s', 'lost', 'p50 ms', 'p99 ms', 'µs/delivery', 'core µs', 'RSS/conn KiB', ...peers.map((p) => `vs ${p}`), 'vs strongest peer', 'note'];
  const rows = results.map((r) =>
    r.status === 'ok'
      ? [
          r.workload,
          r.target,
          fmt(r.connected ?? r.clients),
          fmt(r.rooms),
          fmt(r.deliveries_per_s),
          fmt(r.lost),
          fmt(r.p50_ms, 2),
          fmt(r.p99_ms, 2),
          fmt(r.server_us_per_delivery, 2),
          fmt(r.server_core_us_per_delivery, 2),
          fmt(r.rss_per_conn_kb, 1),
          ...peers.map((p) => vs(r, p)),
          vsStrongest(r),
          r.note ?? '',
        ]
      : [r.workload, r.target, fmt(r.clients), fmt(r.rooms), ...Array<string>(7).fill('-'), ...peers.map(() => '-'), '-', `${r.status}: ${r.note ?? ''}`],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (i === header.length - 1 ? 0 : row[i].length))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export interface RunInfo {
  quick: boolean;
  large: boolean;
  pinned: boolean;
  seconds: number;
}

export function writeJson(path: string, results: WorkloadResult[], run: RunInfo): void {
  mkdirSync(dirname(path), { recursive: true });
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    node: process.version,
  };
  writeFileSync(path, JSON.stringify({ generated_at: new Date().toISOString(), machine, run, results }, null, 2) + '\n');
}
