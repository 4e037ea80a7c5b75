import { setTimeout as sleep } from 'node:timers/promises';
import type { Ledger } from './ledger.js';
import type { ChaosSize, WindowPlan } from './plan.js';
import type { Publisher } from './publisher.js';
import type { Random } from './random.js';
import type { Stage } from './stage.js';

export interface FaultContext {
  stage: Stage;
  ledger: Ledger;
  publisher: Publisher;
  random: Random;
  size: ChaosSize;
  /** Turns the clients' inversion cuts on or off. */
  inversionCuts(on: boolean): void;
  log(line: string): void;
}

const ready = async (url: string) => {
  try {
    return (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) })).status === 200;
  } catch {
    return false;
  }
};

async function allReady(stage: Stage, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await Promise.all(stage.nodeUrls().map(ready))).every(Boolean)) return true;
    await sleep(200);
  }
  return false;
}

/** Makes the window's fault; returns when the fault is over (settling is the caller's). */
export async function runFault(w: WindowPlan, ctx: FaultContext): Promise<void> {
  const { stage, ledger, random, size } = ctx;
  const until = Date.now() + w.durationMs;
  switch (w.kind) {
    case 'baseline':
      await sleep(w.durationMs);
      return;

    case 'cuts': {
      // Some publish attempts go through the publish proxy meanwhile; its answers are held back
      // now and then and the connections dropped: stored, unacknowledged, retried.
      ctx.publisher.via(stage.publishProxy.url);
      let round = 0;
      while (Date.now() < until) {
        await sleep(random.int(...size.cutEveryMs));
        const i = random.int(0, stage.proxies.length - 1);
        // Now and then a whole node's clients at once, as when a load balancer drops.
        const n = random.chance(0.15) ? stage.proxies[i].cutSome(1) : stage.proxies[i].cutSome(size.cutShare, random.next);
        ledger.fault('connections cut', n);
        if (++round % 2 === 1) stage.publishProxy.stall('down');
        else ledger.fault('publish connections cut with answers held back', stage.publishProxy.cutSome(1));
      }
      ctx.publisher.via(undefined);
      stage.publishProxy.cut();
      return;
    }

    case 'inversions':
      ctx.publisher.inversions(true);
      ctx.inversionCuts(true);
      await sleep(w.durationMs);
      ctx.publisher.inversions(false);
      ctx.inversionCuts(false);
      return;

    case 'node-kill': {
      const i = w.node ?? random.int(0, stage.nodes.length - 1);
      const others = stage.nodes.map((_, j) => j).filter((j) => j !== i);
      const j = random.pick(others);
      // The load balancer notices first: reconnects through node i's address land on node j.
      stage.proxies[i].retarget(stage.nodes[j].url);
      if (i === 0) stage.publishProxy.retarget(stage.nodes[j].url);
      await stage.nodes[i].kill();
      ledger.fault(`kill -9 node ${i + 1}`);
      ctx.log(`  node ${i + 1} killed; its clients go to node ${j + 1}`);
      await sleep(size.nodeDownMs);
      await stage.restartNode(i);
      ledger.fault(`node ${i + 1} restarted`);
      ctx.log(`  node ${i + 1} restarted at ${stage.nodes[i].url}`);
      await sleep(Math.max(0, until - Date.now()));
      return;
    }

    case 'redis-restart': {
      // Nothing may be under way across the restart: an acknowledgement then belongs to the
      // next Redis without doubt, so each publication's generation is known.
      await ctx.publisher.pause();
      ledger.generation += 1;
      await stage.redis.stop();
      ledger.fault('redis stopped');
      ctx.log('  redis stopped');
      // Publishing goes on against the outage (503s, retried with the same keys).
      ctx.publisher.resume();
      await sleep(size.redisDownMs);
      await stage.redis.start();
      ledger.fault('redis started');
      const back = await allReady(stage, 20_000);
      ctx.log(`  redis started; nodes ${back ? 'ready' : 'NOT ready after 20 s'}`);
      if (!back) ledger.fault('nodes not ready after 20 s');
      await sleep(Math.max(0, until - Date.now()));
      return;
    }
  }
}
