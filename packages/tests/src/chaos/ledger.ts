import type { ClientKind, FaultKind } from './plan.js';

/** What every chaos publication carries as its data. */
export interface ChaosData {
  /** The publication's key: unique per logical publish, and its idempotency key (retries share it). */
  k: string;
  /** The tenant it was published in: a client of another tenant that receives it has a leak. */
  t: string;
  /** The channels it was published to. */
  ch: string[];
  /** The publisher's own count per channel, for reading failures; order is judged by acknowledged offsets. */
  seq: Record<string, number>;
}

export interface Ack {
  id: string;
  offsets: Record<string, number>;
  /** The gateway answered that the key had been stored already (a retry after a lost answer). */
  duplicate: boolean;
  /** Which Redis incarnation stored it: offsets start over with each restart. */
  gen: number;
  at: number;
  attempts: number;
}

export interface PublicationRecord {
  k: string;
  tenant: string;
  channels: string[];
  seq: Record<string, number>;
  createdAt: number;
  ack?: Ack;
  /** Why it was given up: it may or may not have been stored. */
  gaveUp?: string;
}

export interface ClientInfo {
  id: string;
  kind: ClientKind;
  tenant: string;
  channels: string[];
  /**
   * The transport delivers a publication once to a client in several of its channels and does
   * not say on which (Socket.IO): one delivery is expected per publication, not per channel.
   */
  oncePerPublication: boolean;
}

export interface DeliveryInput {
  /** The channel the transport says it came on; undefined where it does not (Socket.IO). */
  channel?: string;
  id: string;
  epoch?: string;
  offset?: number;
  data: unknown;
}

interface Delivery extends DeliveryInput {
  at: number;
  window: number;
}

export interface ReportInput {
  /** `*`: every channel of the client (a Socket.IO session that was not restored). */
  channel: string;
  reason: string;
  /** The offsets lost, inclusive, when the transport says. */
  missing?: { from: number; to: number };
  /** Where delivery goes on from (a subscribe reply's position), when the transport says. */
  liveFrom?: { epoch?: string; offset: number };
}

interface Report extends ReportInput {
  at: number;
  window: number;
  /** The Redis incarnation when the report arrived. */
  gen: number;
}

export interface WindowInfo {
  index: number;
  name: string;
  kind: FaultKind;
  startedAt: number;
  /** What the run did in the window: `cuts: 14`, `kill -9: node 2`, … */
  faults: Record<string, number>;
}

export interface Cell {
  /** Acknowledged publications the client should get (per channel, or once per publication for Socket.IO). */
  expected: number;
  received: number;
  lostSilently: number;
  /** Not received, and the transport said so (not_recovered, a gap, a session not restored). */
  lostReported: number;
  duplicates: number;
  /** Received after a later offset of the same channel. */
  reorders: number;
  /** Deliveries of another tenant's publication, or of a channel the client is not in. */
  leaks: number;
  /** Deliveries of publications never acknowledged (given up, maybe stored): allowed, counted. */
  unacked: number;
}

export type FindingKind = 'lost-silently' | 'duplicate' | 'reorder' | 'leak';

export interface Finding {
  kind: FindingKind;
  client: string;
  clientKind: ClientKind;
  tenant: string;
  /** The channel(s) concerned. */
  channel: string;
  window: number;
  k: string;
  /** Acknowledged offset on `channel` (the first of them for several), and generation. */
  offset?: number;
  gen?: number;
  seq?: number;
  /** When it happened: the acknowledgement of a lost publication, the arrival of a duplicate or reorder. */
  at: number;
  detail: string;
}

export interface Analysis {
  windows: WindowInfo[];
  /** cells[kind][window index] */
  cells: Record<ClientKind, Cell[]>;
  totals: Record<ClientKind, Cell>;
  findings: Finding[];
  /** Reported losses per client, for the record. */
  reported: { client: string; clientKind: ClientKind; channel: string; window: number; reason: string; lost: number }[];
  publications: { total: number; acked: number; ackedAfterRetry: number; ackedAsDuplicate: number; gaveUp: number; inversions: number };
  /**
   * Publications to several channels delivered with different ids on different channels (one
   * publication must have one id everywhere): with the channels and ids seen.
   */
  splitIds: { k: string; ackId: string; window: number; ids: Record<string, string[]> }[];
  clients: ClientInfo[];
  notes: Map<string, { at: number; window: number; text: string }[]>;
}

export const emptyCell = (): Cell => ({ expected: 0, received: 0, lostSilently: 0, lostReported: 0, duplicates: 0, reorders: 0, leaks: 0, unacked: 0 });

const ITEM_SEPARATOR = '\u0000';

/** How long a delivery may take under load: a publication acknowledged this long before a connection dropped was due on it. */
export const DELIVERY_GRACE_MS = 2000;

/** Position of an acknowledged publication on one channel, ordered by generation then offset. */
type Position = [gen: number, offset: number];
const before = (a: Position, b: Position) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

export function isChaosData(data: unknown): data is ChaosData {
  const d = data as Partial<ChaosData> | null;
  return typeof d === 'object' && d !== null && typeof d.k === 'string' && typeof d.t === 'string' && Array.isArray(d.ch);
}

/**
 * Expected against received: the publisher records what it was acknowledged, each client what
 * it got and what its transport reported lost; `analyse()` says, per client kind and fault
 * window, what was lost silently, reported, repeated, reordered or leaked.
 */
export class Ledger {
  /** Incremented when Redis is stopped (publishing paused meanwhile): later acks are of the next incarnation. */
  generation = 0;
  readonly windows: WindowInfo[] = [];
  private readonly publications = new Map<string, PublicationRecord>();
  private readonly clients = new Map<string, ClientInfo>();
  private readonly deliveries = new Map<string, Delivery[]>();
  private readonly reports = new Map<string, Report[]>();
  private readonly notes = new Map<string, { at: number; window: number; text: string }[]>();
  /** Per client, items expected and not yet received, with their ack time (for settling). */
  private readonly pending = new Map<string, Map<string, number>>();
  /** Per client, items delivered so far (a delivery may come before its acknowledgement). */
  private readonly delivered = new Map<string, Set<string>>();
  /** When each client's connection dropped. */
  private readonly interruptions = new Map<string, number[]>();
  /** The members of each simultaneous burst (inversion windows), by member. */
  private readonly bursts = new Map<string, string[]>();
  private readonly byTenant = new Map<string, ClientInfo[]>();
  private inversions = 0;

  constructor(private readonly clock: () => number = Date.now) {
    this.windows.push({ index: 0, name: '0 setup', kind: 'baseline', startedAt: clock(), faults: {} });
  }

  now(): number {
    return this.clock();
  }

  beginWindow(name: string, kind: FaultKind): WindowInfo {
    const info: WindowInfo = { index: this.windows.length, name, kind, startedAt: this.clock(), faults: {} };
    this.windows.push(info);
    return info;
  }

  get currentWindow(): WindowInfo {
    return this.windows[this.windows.length - 1];
  }

  /** Counts something the run did in the current window. */
  fault(name: string, n = 1): void {
    const faults = this.currentWindow.faults;
    faults[name] = (faults[name] ?? 0) + n;
  }

  // -- the publisher's side --

  intend(record: Omit<PublicationRecord, 'createdAt'>): void {
    this.publications.set(record.k, { ...record, createdAt: this.clock() });
  }

  acknowledge(k: string, result: { id: string; offsets: Record<string, number>; duplicate: boolean }, attempts: number): void {
    const p = this.publications.get(k);
    if (!p) throw new Error(`acknowledged unknown publication ${k}`);
    if (p.ack) return;
    p.ack = { ...result, gen: this.generation, at: this.clock(), attempts };
    for (const client of this.byTenant.get(p.tenant) ?? []) {
      const pending = this.pending.get(client.id)!;
      const delivered = this.delivered.get(client.id)!;
      for (const key of itemKeys(client, p)) if (!delivered.has(key)) pending.set(key, p.ack.at);
    }
  }

  giveUp(k: string, reason: string): void {
    const p = this.publications.get(k);
    if (p && !p.ack) p.gaveUp = reason;
  }

  /** Acknowledged publications of one channel, next to each other in offset order, whose ids sort the other way. */
  inversion(n = 1): void {
    this.inversions += n;
  }

  publication(k: string): PublicationRecord | undefined {
    return this.publications.get(k);
  }

  // -- the clients' side --

  addClient(info: ClientInfo): void {
    this.clients.set(info.id, info);
    this.deliveries.set(info.id, []);
    this.reports.set(info.id, []);
    this.notes.set(info.id, []);
    this.pending.set(info.id, new Map());
    this.delivered.set(info.id, new Set());
    this.interruptions.set(info.id, []);
    const list = this.byTenant.get(info.tenant) ?? [];
    list.push(info);
    this.byTenant.set(info.tenant, list);
  }

  deliver(clientId: string, delivery: DeliveryInput): void {
    const at = this.clock();
    this.deliveries.get(clientId)!.push({ ...delivery, at, window: this.currentWindow.index });
    const client = this.clients.get(clientId)!;
    if (!isChaosData(delivery.data)) return;
    const k = delivery.data.k;
    const key = client.oncePerPublication ? k : `${delivery.channel}${ITEM_SEPARATOR}${k}`;
    this.delivered.get(clientId)!.add(key);
    this.pending.get(clientId)!.delete(key);
  }

  /** Publications about to be made at once to one channel through two nodes. */
  burst(keys: string[]): void {
    for (const k of keys) this.bursts.set(k, keys);
  }

  /**
   * Whether `k` belongs to a simultaneous burst of which this client has not got every other
   * member on `channel` yet: cut now, and a later offset with a lower id may still be to come.
   */
  earlyInBurst(clientId: string, k: string, channel: string | undefined): boolean {
    const members = this.bursts.get(k);
    if (members === undefined) return false;
    const once = this.clients.get(clientId)!.oncePerPublication;
    const delivered = this.delivered.get(clientId)!;
    return members.some((m) => m !== k && !delivered.has(once ? m : `${channel}${ITEM_SEPARATOR}${m}`));
  }

  report(clientId: string, report: ReportInput): void {
    this.reports.get(clientId)!.push({ ...report, at: this.clock(), window: this.currentWindow.index, gen: this.generation });
    this.note(clientId, `reported loss on ${report.channel}: ${report.reason}${report.missing ? ` missing ${report.missing.from}-${report.missing.to}` : ''}${report.liveFrom ? `, live from offset ${report.liveFrom.offset}` : ''}`);
  }

  /** The client's connection dropped (it will come back): what a later loss report can account for starts here. */
  interrupted(clientId: string, why: string): void {
    this.interruptions.get(clientId)!.push(this.clock());
    this.note(clientId, why);
  }

  /** Something that happened to a client (a reconnect, a cut), shown next to its failures. */
  note(clientId: string, text: string): void {
    this.notes.get(clientId)!.push({ at: this.clock(), window: this.currentWindow.index, text });
  }

  /**
   * Expected items not received yet, among those acknowledged at least `graceMs` ago, over all
   * clients: what settling waits on (reported and silent losses stay in it).
   */
  outstanding(graceMs: number): number {
    const limit = this.clock() - graceMs;
    let n = 0;
    for (const pending of this.pending.values()) for (const at of pending.values()) if (at <= limit) n += 1;
    return n;
  }

  deliveryCount(): number {
    let n = 0;
    for (const list of this.deliveries.values()) n += list.length;
    return n;
  }

  /** Everything recorded, as JSON-able data, to look into a run afterwards (`--dump FILE`). */
  dump(): unknown {
    return {
      windows: this.windows,
      publications: [...this.publications.values()],
      clients: [...this.clients.values()].map((c) => ({
        ...c,
        deliveries: this.deliveries.get(c.id),
        reports: this.reports.get(c.id),
        notes: this.notes.get(c.id),
      })),
    };
  }

  // -- the verdict --

  analyse(): Analysis {
    const kinds = new Set([...this.clients.values()].map((c) => c.kind));
    const cells = {} as Record<ClientKind, Cell[]>;
    const totals = {} as Record<ClientKind, Cell>;
    for (const kind of kinds) {
      cells[kind] = this.windows.map(emptyCell);
      totals[kind] = emptyCell();
    }
    const findings: Finding[] = [];
    const reported: Analysis['reported'] = [];
    const epochGen = this.epochGenerations();
    const windowOf = (at: number) => {
      for (let i = this.windows.length - 1; i >= 0; i--) if (this.windows[i].startedAt <= at) return i;
      return 0;
    };
    const count = (kind: ClientKind, window: number, field: keyof Cell, n = 1) => {
      cells[kind][window][field] += n;
      totals[kind][field] += n;
    };

    for (const client of this.clients.values()) {
      const received = new Map<string, Delivery[]>();
      const highest = new Map<string, Position>();
      /** Per channel, the acknowledged positions delivered, in arrival order, with arrival time. */
      const arrivals = new Map<string, { at: number; pos: Position }[]>();
      const finding = (kind: FindingKind, window: number, k: string, channel: string, detail: string, p?: PublicationRecord, at = p?.ack?.at ?? 0) => {
        const c = channel.split(',')[0];
        findings.push({
          kind,
          client: client.id,
          clientKind: client.kind,
          tenant: client.tenant,
          channel,
          window,
          k,
          at,
          ...(p?.ack ? { offset: p.ack.offsets[c], gen: p.ack.gen } : {}),
          ...(p?.seq[c] !== undefined ? { seq: p.seq[c] } : {}),
          detail,
        });
      };

      for (const d of this.deliveries.get(client.id)!) {
        if (!isChaosData(d.data)) {
          count(client.kind, d.window, 'leaks');
          finding('leak', d.window, '?', d.channel ?? '?', `a delivery that is not a chaos publication: ${JSON.stringify(d.data).slice(0, 80)}`, undefined, d.at);
          continue;
        }
        const data = d.data;
        const p = this.publications.get(data.k);
        if (data.t !== client.tenant || (p && p.tenant !== client.tenant)) {
          count(client.kind, d.window, 'leaks');
          finding('leak', d.window, data.k, d.channel ?? data.ch.join(','), `cross-tenant: publication of tenant ${data.t} delivered to a client of tenant ${client.tenant} (id ${d.id})`, p, d.at);
          continue;
        }
        const matched = client.oncePerPublication
          ? data.ch.filter((c) => client.channels.includes(c))
          : d.channel !== undefined && client.channels.includes(d.channel) && data.ch.includes(d.channel)
            ? [d.channel]
            : [];
        if (matched.length === 0) {
          count(client.kind, d.window, 'leaks');
          finding('leak', d.window, data.k, d.channel ?? data.ch.join(','), `publication of ${data.ch.join(',')} delivered on ${d.channel ?? '(no channel)'} to a client of ${client.channels.join(',')}`, p, d.at);
          continue;
        }
        const key = client.oncePerPublication ? data.k : `${matched[0]}${ITEM_SEPARATOR}${data.k}`;
        const list = received.get(key) ?? [];
        list.push(d);
        received.set(key, list);
        if (list.length > 1) {
          count(client.kind, d.window, 'duplicates');
          const ids = [...new Set(list.map((x) => x.id))];
          finding(
            'duplicate',
            d.window,
            data.k,
            matched.join(','),
            `delivered ${list.length} times, at ${list.map((x) => this.t(x.at)).join(', ')}${ids.length > 1 ? ` with different ids ${ids.join(' ')}` : ` (id ${d.id})`}`,
            p,
            d.at,
          );
          continue;
        }
        if (!p?.ack) {
          count(client.kind, d.window, 'unacked');
          continue;
        }
        // A Socket.IO socket gets a publication of several of its rooms once, on whichever room
        // delivered first: its place in each room's order is not defined, so only publications
        // matching one room are checked for order there.
        const ordered = client.oncePerPublication && matched.length > 1 ? [] : matched;
        for (const c of ordered) {
          const offset = p.ack.offsets[c];
          if (offset === undefined) continue;
          const pos: Position = [p.ack.gen, offset];
          const seen = arrivals.get(c) ?? [];
          seen.push({ at: d.at, pos });
          arrivals.set(c, seen);
          const top = highest.get(c);
          if (top && before(pos, top)) {
            count(client.kind, d.window, 'reorders');
            finding('reorder', d.window, data.k, c, `offset ${offset} (gen ${pos[0]}) arrived after offset ${top[1]} (gen ${top[0]}), at ${this.t(d.at)}`, p, d.at);
          } else highest.set(c, pos);
        }
      }

      // Expected: every acknowledged publication of the client's tenant on its channels.
      const reports = this.reports.get(client.id)!;
      const lostByReport = new Map<Report, number>();
      for (const p of this.publications.values()) {
        if (!p.ack || p.tenant !== client.tenant) continue;
        const matched = p.channels.filter((c) => client.channels.includes(c));
        if (matched.length === 0) continue;
        const items = client.oncePerPublication ? [{ key: p.k, channels: matched }] : matched.map((c) => ({ key: `${c}${ITEM_SEPARATOR}${p.k}`, channels: [c] }));
        const window = windowOf(p.ack.at);
        for (const item of items) {
          count(client.kind, window, 'expected');
          if (received.has(item.key)) {
            count(client.kind, window, 'received');
            continue;
          }
          const by = reports.find((r) => this.excuses(client.id, r, p) && item.channels.some((c) => this.covers(r, client.tenant, c, p, epochGen, arrivals.get(c))));
          if (by) {
            count(client.kind, window, 'lostReported');
            lostByReport.set(by, (lostByReport.get(by) ?? 0) + 1);
          } else {
            count(client.kind, window, 'lostSilently');
            finding('lost-silently', window, p.k, item.channels.join(','), `acknowledged at ${this.t(p.ack.at)} as id ${p.ack.id}, never delivered, no loss reported`, p);
          }
        }
      }
      for (const [r, lost] of lostByReport) reported.push({ client: client.id, clientKind: client.kind, channel: r.channel, window: r.window, reason: r.reason, lost });
    }

    // One id per publication on every channel, whoever got it.
    const idsByK = new Map<string, Map<string, Set<string>>>();
    for (const list of this.deliveries.values()) {
      for (const d of list) {
        if (!isChaosData(d.data) || d.data.ch.length < 2) continue;
        const byChannel = idsByK.get(d.data.k) ?? new Map<string, Set<string>>();
        const key = d.channel ?? '(socket.io)';
        byChannel.set(key, (byChannel.get(key) ?? new Set()).add(d.id));
        idsByK.set(d.data.k, byChannel);
      }
    }
    const splitIds: Analysis['splitIds'] = [];
    for (const [k, byChannel] of idsByK) {
      const ids = new Set([...byChannel.values()].flatMap((set) => [...set]));
      if (ids.size < 2) continue;
      const p = this.publications.get(k);
      splitIds.push({
        k,
        ackId: p?.ack?.id ?? '(unacknowledged)',
        window: p?.ack ? windowOf(p.ack.at) : 0,
        ids: Object.fromEntries([...byChannel].map(([c, set]) => [c, [...set]])),
      });
    }

    const all = [...this.publications.values()];
    return {
      splitIds,
      windows: this.windows,
      cells,
      totals,
      findings,
      reported,
      publications: {
        total: all.length,
        acked: all.filter((p) => p.ack).length,
        ackedAfterRetry: all.filter((p) => p.ack && p.ack.attempts > 1).length,
        ackedAsDuplicate: all.filter((p) => p.ack?.duplicate).length,
        gaveUp: all.filter((p) => p.gaveUp).length,
        inversions: this.inversions,
      },
      clients: [...this.clients.values()],
      notes: this.notes,
    };
  }

  /** `12.3 s` since the run began. */
  t(at: number): string {
    return `${((at - this.windows[0].startedAt) / 1000).toFixed(1)} s`;
  }

  /** Which generation each (tenant, channel, epoch) belongs to, learnt from deliveries of acknowledged publications. */
  private epochGenerations(): Map<string, number> {
    const map = new Map<string, number>();
    for (const [clientId, list] of this.deliveries) {
      const tenant = this.clients.get(clientId)!.tenant;
      for (const d of list) {
        if (d.epoch === undefined || d.channel === undefined || !isChaosData(d.data)) continue;
        const ack = this.publications.get(d.data.k)?.ack;
        if (ack) map.set(`${tenant}|${d.channel}|${d.epoch}`, ack.gen);
      }
    }
    return map;
  }

  /**
   * A report comes after an interruption and can only account for what the interruption kept
   * from the client: publications acknowledged before the connection dropped, by more than the
   * time a delivery takes, were due while it was up. Not having them is a silent loss, whatever
   * a later report says (an epoch change "covers" everything before it).
   */
  private excuses(clientId: string, r: Report, p: PublicationRecord): boolean {
    const drops = this.interruptions.get(clientId)!.filter((at) => at <= r.at);
    const dropped = drops.length > 0 ? drops[drops.length - 1] : r.at;
    return p.ack!.at >= dropped - DELIVERY_GRACE_MS;
  }

  /** Whether report `r` accounts for publication `p` not reaching the client on channel `c`. */
  private covers(r: Report, tenant: string, c: string, p: PublicationRecord, epochGen: Map<string, number>, arrivals: { at: number; pos: Position }[] | undefined): boolean {
    if (r.channel !== '*' && r.channel !== c) return false;
    const ack = p.ack!;
    const offset = ack.offsets[c];
    if (offset === undefined) return false;
    const genOf = (epoch?: string) => (epoch !== undefined ? epochGen.get(`${tenant}|${c}|${epoch}`) : undefined) ?? r.gen;
    if (r.missing) return ack.gen === genOf(r.liveFrom?.epoch) && offset >= r.missing.from && offset <= r.missing.to;
    // Everything up to where delivery went on from is accounted for.
    let live: Position | undefined = r.liveFrom ? [genOf(r.liveFrom.epoch), r.liveFrom.offset] : undefined;
    if (!live) {
      // The transport did not say where it goes on from: the first offset delivered after the report tells.
      const next = arrivals?.find((a) => a.at >= r.at);
      if (next) live = [next.pos[0], next.pos[1] - 1];
    }
    if (live) return !before(live, [ack.gen, offset]);
    return ack.at <= r.at;
  }
}

function itemKeys(client: ClientInfo, p: PublicationRecord): string[] {
  const matched = p.channels.filter((c) => client.channels.includes(c));
  if (matched.length === 0) return [];
  return client.oncePerPublication ? [p.k] : matched.map((c) => `${c}${ITEM_SEPARATOR}${p.k}`);
}
