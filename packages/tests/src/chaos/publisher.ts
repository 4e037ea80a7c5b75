import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaosData, Ledger } from './ledger.js';
import type { Random } from './random.js';

export interface PublisherOptions {
  ledger: Ledger;
  random: Random;
  apiKey: string;
  /** The nodes' current URLs, a dead one included (its publishes fail and are retried elsewhere). */
  nodes: () => string[];
  /** Channel names per tenant (the same names in every tenant). */
  tenants: string[];
  channels: string[];
  rate: number;
  lanes: number;
  multiChannelShare: number;
  inversionBurstEveryMs: number;
  /** A unique prefix of this run's keys. */
  tag: string;
  /** A harness error (a publish refused with 4xx): the run stops with it. */
  onFatal: (err: Error) => void;
}

const ATTEMPT_TIMEOUT_MS = 3000;
const GIVE_UP_AFTER_MS = 25_000;

/**
 * Publishes over HTTP to random nodes, each publication with an idempotency key (its `k`) that
 * every retry reuses: a retry after an answer that got lost is answered with what was stored.
 * "Expected" is only what a 2xx acknowledged, with the offsets it gave.
 */
export class Publisher {
  private n = 0;
  private readonly seq = new Map<string, number>();
  private running = false;
  private paused = false;
  private inverting = false;
  private readonly busy = new Set<Promise<void>>();
  private loops: Promise<void>[] = [];
  private wake: (() => void)[] = [];
  private viaUrl: string | undefined;

  constructor(private readonly o: PublisherOptions) {}

  start(): void {
    this.running = true;
    for (let lane = 0; lane < this.o.lanes; lane++) this.loops.push(this.lane());
    this.loops.push(this.inversionLoop());
  }

  /** Starts no new publication and waits for those under way (acknowledged or given up). */
  async pause(): Promise<void> {
    this.paused = true;
    while (this.busy.size > 0) await Promise.all([...this.busy]);
  }

  resume(): void {
    this.paused = false;
    for (const wake of this.wake.splice(0)) wake();
  }

  /** Inversion windows: bursts of simultaneous publishes to one channel through two nodes. */
  inversions(on: boolean): void {
    this.inverting = on;
  }

  /** Sends a third of the attempts through `url` (the publish proxy), or none when undefined. */
  via(url: string | undefined): void {
    this.viaUrl = url;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.resume();
    await Promise.all(this.loops);
    while (this.busy.size > 0) await Promise.all([...this.busy]);
  }

  private async gate(): Promise<boolean> {
    while (this.paused && this.running) await new Promise<void>((resolve) => this.wake.push(resolve));
    return this.running;
  }

  private async lane(): Promise<void> {
    const { random } = this.o;
    const period = (1000 * this.o.lanes) / this.o.rate;
    while (await this.gate()) {
      const tenant = random.pick(this.o.tenants);
      const channels = random.chance(this.o.multiChannelShare) ? random.sample(this.o.channels, random.int(2, 3)) : [random.pick(this.o.channels)];
      // Checked in the same turn as the publish starts, so that pause() sees every publish it must wait for.
      if (this.paused) continue;
      await this.track(this.publish(tenant, channels));
      await sleep(period * (0.5 + random.next()));
    }
  }

  /**
   * Every `inversionBurstEveryMs`, a burst of publishes to one channel through two nodes taking
   * turns (a, b, a, b), all at once: ids minted in the same millisecond on two nodes sort at
   * random, so next to each other in offset order some sort the other way.
   */
  private async inversionLoop(): Promise<void> {
    const { random, ledger } = this.o;
    while (this.running) {
      await sleep(this.o.inversionBurstEveryMs);
      if (!this.inverting || !(await this.gate())) continue;
      const nodes = this.o.nodes();
      const [a, b] = random.sample(nodes.map((_, i) => i), 2);
      const tenant = random.pick(this.o.tenants);
      const channel = random.pick(this.o.channels);
      if (this.paused) continue;
      const keys = [this.key(), this.key(), this.key(), this.key()];
      ledger.burst(keys);
      void this.track(
        (async () => {
          await Promise.all(keys.map((k, i) => this.publish(tenant, [channel], i % 2 === 0 ? a : b, k)));
          const acks = keys.map((k) => ledger.publication(k)?.ack);
          if (acks.some((x) => !x) || new Set(acks.map((x) => x!.gen)).size > 1) return;
          ledger.fault('publish bursts');
          const byOffset = acks.map((x) => x!).sort((x, y) => x.offsets[channel] - y.offsets[channel]);
          let inverted = 0;
          for (let i = 1; i < byOffset.length; i++) if (byOffset[i].id < byOffset[i - 1].id) inverted += 1;
          if (inverted > 0) {
            ledger.inversion(inverted);
            ledger.fault('id inversions (acknowledged)', inverted);
          }
        })(),
      );
    }
  }

  private track(work: Promise<unknown>): Promise<void> {
    const p = work.then(
      () => undefined,
      (err) => this.o.onFatal(err as Error),
    );
    this.busy.add(p);
    void p.finally(() => this.busy.delete(p));
    return p;
  }

  /** Publishes until a 2xx or the give-up time; returns the key, or undefined if given up. */
  private key(): string {
    return `${this.o.tag}-${++this.n}`;
  }

  private async publish(tenant: string, channels: string[], node?: number, k = this.key()): Promise<string | undefined> {
    const { ledger, random } = this.o;
    const seq: Record<string, number> = {};
    for (const c of channels) {
      const key = `${tenant}|${c}`;
      const next = (this.seq.get(key) ?? 0) + 1;
      this.seq.set(key, next);
      seq[c] = next;
    }
    const data: ChaosData = { k, t: tenant, ch: channels, seq };
    ledger.intend({ k, tenant, channels, seq });
    const body = JSON.stringify({ tenant, ...(channels.length === 1 ? { channel: channels[0] } : { channels }), event: 'chaos', data, idempotencyKey: k });
    const deadline = Date.now() + GIVE_UP_AFTER_MS;
    let last = '';
    for (let attempt = 1; Date.now() < deadline; attempt++) {
      const nodes = this.o.nodes();
      const via = this.viaUrl !== undefined && node === undefined && random.chance(1 / 3) ? this.viaUrl : undefined;
      const url = via ?? nodes[attempt === 1 && node !== undefined ? node : random.int(0, nodes.length - 1)];
      try {
        const response = await fetch(`${url}/api/v1/publish`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.o.apiKey}`, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        });
        const text = await response.text();
        if (response.status === 200) {
          const result = JSON.parse(text) as { id: string; offset?: number; offsets?: Record<string, number>; duplicate: boolean };
          const offsets = result.offsets ?? { [channels[0]]: result.offset! };
          ledger.acknowledge(k, { id: result.id, offsets, duplicate: result.duplicate }, attempt);
          return k;
        }
        if (response.status < 500 && response.status !== 429) throw new Error(`publish refused with ${response.status}: ${text}`);
        last = `${response.status} ${text.slice(0, 120)}`;
      } catch (err) {
        if ((err as Error).message.startsWith('publish refused')) throw err;
        last = (err as Error).message;
      }
      await sleep(Math.min(attempt, 5) * (100 + random.int(0, 200)));
    }
    ledger.giveUp(k, last);
    return undefined;
  }
}
