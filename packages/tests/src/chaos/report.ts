import type { Analysis, Cell, Finding, FindingKind } from './ledger.js';
import type { ClientKind } from './plan.js';

export const CLIENT_LABELS: Record<ClientKind, string> = {
  'ws-sdk': 'native WebSocket, @herald/client',
  'ws-raw': 'native WebSocket, raw ws (resubscribes with since)',
  socketio: 'Socket.IO, stock socket.io-client (connection state recovery)',
  sse: 'SSE, eventsource package (Last-Event-ID)',
};

export interface Failure {
  clientKind: ClientKind;
  window: number;
  kind: FindingKind;
  count: number;
}

export interface Verdict {
  /** No failure on any transport, and every publication had one id on all its channels. */
  ok: boolean;
  failures: Failure[];
  /** Whether each client kind passed. */
  byKind: Partial<Record<ClientKind, boolean>>;
}

/**
 * Fails on any silent loss; and outside Redis-restart windows (where history is lost with Redis)
 * on any duplicate, reorder or leak too.
 */
export function verdict(analysis: Analysis): Verdict {
  const counts = new Map<string, Failure>();
  for (const f of analysis.findings) {
    const strict = analysis.windows[f.window].kind !== 'redis-restart';
    if (f.kind !== 'lost-silently' && !strict) continue;
    const key = `${f.clientKind}|${f.window}|${f.kind}`;
    const entry = counts.get(key) ?? { clientKind: f.clientKind, window: f.window, kind: f.kind, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  const failures = [...counts.values()];
  const byKind: Verdict['byKind'] = {};
  for (const kind of Object.keys(analysis.totals) as ClientKind[]) byKind[kind] = !failures.some((f) => f.clientKind === kind);
  return { ok: failures.length === 0 && analysis.splitIds.length === 0, failures, byKind };
}

/** Publications that reached their channels with different ids. */
export function splitIdLines(analysis: Analysis): string {
  return analysis.splitIds
    .map(
      (s) =>
        `- SPLIT ID ${s.k} (window "${analysis.windows[s.window].name}"): acknowledged as ${s.ackId}, delivered as ${Object.entries(s.ids)
          .map(([c, ids]) => `${ids.join('/')} on ${c}`)
          .join(', ')}`,
    )
    .join('\n');
}

const COLUMNS: [keyof Cell, string][] = [
  ['expected', 'expected'],
  ['received', 'received'],
  ['lostSilently', 'lost silently'],
  ['lostReported', 'lost, reported'],
  ['duplicates', 'duplicates'],
  ['reorders', 'reorders'],
  ['leaks', 'cross-tenant / foreign'],
  ['unacked', 'unacked delivered'],
];

const faultText = (faults: Record<string, number>) =>
  Object.entries(faults)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '—';

/** One Markdown table per client kind: a row per fault window and a total. */
export function tables(analysis: Analysis): string {
  const out: string[] = [];
  for (const kind of Object.keys(analysis.totals) as ClientKind[]) {
    const clients = analysis.clients.filter((c) => c.kind === kind).length;
    out.push(`### ${kind}: ${CLIENT_LABELS[kind]} (${clients} clients)`, '');
    out.push(`| window | ${COLUMNS.map(([, label]) => label).join(' | ')} |`);
    out.push(`| --- | ${COLUMNS.map(() => '---:').join(' | ')} |`);
    analysis.cells[kind].forEach((cell, i) => {
      if (i === 0 && cell.expected === 0 && Object.values(cell).every((v) => v === 0)) return;
      out.push(`| ${analysis.windows[i].name} | ${COLUMNS.map(([key]) => cell[key]).join(' | ')} |`);
    });
    const total = analysis.totals[kind];
    out.push(`| **total** | ${COLUMNS.map(([key]) => `**${total[key]}**`).join(' | ')} |`, '');
  }
  return out.join('\n');
}

export function windowsTable(analysis: Analysis, endedAt: number): string {
  const out = ['| window | from | faults made |', '| --- | ---: | --- |'];
  analysis.windows.forEach((w, i) => {
    const next = analysis.windows[i + 1]?.startedAt ?? endedAt;
    out.push(`| ${w.name} | ${((w.startedAt - analysis.windows[0].startedAt) / 1000).toFixed(1)} s (${((next - w.startedAt) / 1000).toFixed(1)} s) | ${faultText(w.faults)} |`);
  });
  return out.join('\n');
}

/** `3-7, 9` */
function ranges(numbers: number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * What failed, grouped by client, window, channel and kind, with offsets (and the publisher's
 * sequence numbers) as ranges, one example, and what happened to that client in that window.
 */
export function failureDetails(analysis: Analysis, v: Verdict, maxGroupsPerKind = 25): string {
  if (v.ok) return '';
  const failing = new Set(v.failures.map((f) => `${f.clientKind}|${f.window}|${f.kind}`));
  const groups = new Map<string, Finding[]>();
  for (const f of analysis.findings) {
    if (!failing.has(`${f.clientKind}|${f.window}|${f.kind}`)) continue;
    const key = `${f.clientKind}|${f.client}|${f.window}|${f.channel}|${f.kind}`;
    const list = groups.get(key) ?? [];
    list.push(f);
    groups.set(key, list);
  }
  const out: string[] = [];
  const shown = new Map<ClientKind, number>();
  const hidden = new Map<ClientKind, number>();
  for (const list of groups.values()) {
    const f = list[0];
    const n = shown.get(f.clientKind) ?? 0;
    if (n >= maxGroupsPerKind) {
      hidden.set(f.clientKind, (hidden.get(f.clientKind) ?? 0) + 1);
      continue;
    }
    shown.set(f.clientKind, n + 1);
    const client = analysis.clients.find((c) => c.id === f.client)!;
    const offsets = list.filter((x) => x.offset !== undefined).map((x) => x.offset!);
    const seqs = list.filter((x) => x.seq !== undefined).map((x) => x.seq!);
    const gens = [...new Set(list.map((x) => x.gen).filter((g) => g !== undefined))];
    out.push(
      `- ${f.kind.toUpperCase()} ${f.clientKind} ${f.client} (tenant ${f.tenant}, channels ${client.channels.join(',')}) in window "${analysis.windows[f.window].name}", channel ${f.channel}: ` +
        `${list.length} publication(s)${offsets.length ? `, offsets ${ranges(offsets)}${gens.length ? ` (gen ${gens.join(',')})` : ''}` : ''}${seqs.length ? `, publisher seq ${ranges(seqs)}` : ''}; e.g. ${f.k}: ${f.detail}`,
    );
    // What happened to the client around the first finding of the group: the notes just before and after it.
    const all = analysis.notes.get(f.client) ?? [];
    const i = all.findIndex((x) => x.at > f.at);
    const cut = i < 0 ? all.length : i;
    const notes = all.slice(Math.max(0, cut - 5), cut + 3);
    for (const note of notes) out.push(`    · ${((note.at - analysis.windows[0].startedAt) / 1000).toFixed(1)} s ${note.text}`);
  }
  for (const [kind, n] of hidden) out.push(`- … and ${n} more groups of ${kind} findings`);
  return out.join('\n');
}

export function summaryLine(v: Verdict, analysis?: Analysis): string {
  const split = analysis?.splitIds.length ? `; ${analysis.splitIds.length} publication(s) to several channels delivered with different ids on different channels` : '';
  if (v.ok) return 'PASS: no silent loss, duplicate, reorder or leak outside Redis restarts, and no silent loss inside them';
  const parts = v.failures.map((f) => `${f.clientKind} ${f.kind} ×${f.count} in window ${f.window}`);
  return `FAIL: ${parts.join('; ')}${split}`;
}
