import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { EngineUnavailableError, type ChannelKey, type Engine, type PublishOptions, type StoredPublication } from '../engine.js';
import { sleep, waitFor } from '../testing/wait.js';
import { RecordingHandler, input, uniqueKey } from './engine.case.js';

/**
 * A Redis master killed while a node publishes and another listens, as one case that the
 * Cluster and Sentinel tests both run. Not a `*.test.ts` file.
 */
export interface FailoverCaseOptions {
  /** A new engine on the deployment, not yet started. */
  create: () => Engine;
  /** Kills (SIGKILL) the master that holds `key`. */
  killMasterOf: (key: ChannelKey) => Promise<void>;
  /** Resolves once a replica has taken over (and the killed server is back, as a replica). */
  recovered: () => Promise<void>;
}

const OPTS: PublishOptions = { history: { size: 1000, ttlMs: 300_000, metaTtlMs: 3_600_000 }, idempotency: { key: '', ttlMs: 60_000 } };

interface Attempt {
  i: number;
  publication?: StoredPublication;
  error?: Error;
}

/** Registers the failover case in the current `describe`. */
export function runFailoverCase(options: FailoverCaseOptions): void {
  const engines: Engine[] = [];
  after(async () => {
    for (const engine of engines.splice(0)) await engine.close();
  });

  it('a killed master: publishes fail as unavailable, succeed on retry, and the listener is told what it missed', async () => {
    const events: string[] = [];
    const listener = Object.assign(new RecordingHandler(), {
      onInterrupted: () => events.push('interrupted'),
      onResumed: () => events.push('resumed'),
    });
    const publisher = options.create();
    const listening = options.create();
    engines.push(publisher, listening);
    await publisher.start(new RecordingHandler());
    await listening.start(listener);
    const key = uniqueKey('failover');
    await listening.broker.subscribe(key);

    const attempts: Attempt[] = [];
    let stop = false;
    // One publication after another, each retried with its idempotency key until it is acknowledged.
    const publishing = (async () => {
      for (let i = 1; !stop; i++) {
        const body = input(key, 'tick', { i });
        for (;;) {
          try {
            const { publication } = await publisher.broker.publish(key, body, { ...OPTS, idempotency: { key: `tick-${i}`, ttlMs: 60_000 } });
            attempts.push({ i, publication });
            break;
          } catch (err) {
            attempts.push({ i, error: err as Error });
            if (stop) return;
            await sleep(50);
          }
        }
        await sleep(10);
      }
    })();
    try {
      const acknowledged = () => attempts.filter((a) => a.publication);
      await waitFor(() => acknowledged().length >= 20, 'publications before the failover', 10_000);
      const before = acknowledged().at(-1)!.publication!;
      events.length = 0;
      await options.killMasterOf(key);
      await waitFor(() => attempts.some((a) => a.error), 'a publish that fails during the switch', 10_000);
      await options.recovered();
      const atRecovery = acknowledged().length;
      await waitFor(() => acknowledged().length >= atRecovery + 20, 'publications after the failover', 30_000);
      stop = true;
      await publishing;

      // During the switch a publish fails as unavailable (503), never as a fault, and its retry succeeds.
      const failures = attempts.filter((a) => a.error);
      for (const failure of failures) assert.ok(failure.error instanceof EngineUnavailableError, `${failure.error!.name}: ${failure.error!.message}`);
      const failed = new Set(failures.map((a) => a.i));
      for (const i of failed) assert.ok(attempts.some((a) => a.i === i && a.publication) || i === Math.max(...attempts.map((a) => a.i)), `publication ${i} acknowledged on retry`);

      // What replication may have lost is not papered over: the stream starts a new epoch, so a
      // client resuming from an offset of the old one is told it cannot recover.
      const after = acknowledged().at(-1)!.publication!;
      assert.notEqual(after.epoch, before.epoch);
      const page = await publisher.broker.history(key, {});
      assert.equal(page.epoch, after.epoch);
      const offsets = page.publications.map((p) => p.offset);
      assert.deepEqual(offsets, offsets.map((_, n) => page.offset - offsets.length + 1 + n), 'the new epoch has no holes up to its last offset');
      assert.ok(page.offset < attempts.length, 'the new epoch counts from 1');

      // The listener kept its subscription: it was told delivery stopped, then resumed, and
      // receives what is published after the switch.
      await waitFor(() => events.includes('resumed'), 'the listener resumed', 15_000);
      assert.equal(events[0], 'interrupted');
      const last = await publisher.broker.publish(key, input(key, 'last'), OPTS);
      await waitFor(() => listener.publications(key).some((p) => p.id === last.publication.id), 'the listener receives a publication made after the switch', 10_000);
      assert.equal(listening.isReady(), true);
      assert.equal(publisher.isReady(), true);
    } finally {
      stop = true;
      await publishing.catch(() => undefined);
    }
  });
}
