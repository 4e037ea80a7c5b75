import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRedisEngine, type HeraldConfigInput, type RedisEngineOptions } from '@herald/server';
import {
  REDIS_SERVER_BIN,
  TEST_API_KEY,
  TEST_SECRET,
  redisServerAvailable,
  startHerald,
  type HeraldFixture,
  type RedisServer,
} from '@herald/server/testing';
import { describeRequiring } from './requires.js';

const CLI = fileURLToPath(new URL('../../../server/dist/cli.js', import.meta.url));

/** Every channel open to everyone, with history deep enough for the longest outage a test makes. */
export const CLUSTER_CHANNELS: HeraldConfigInput['channels'] = {
  rules: [{ pattern: '*', subscribe: 'all', publish: 'all', history: { size: 1000, ttl: '5m' }, presence: true, joinLeave: true }],
};

/** A `describe` that needs redis-server: see describeRequiring. */
export function describeWithRedis(name: string, body: () => void): void {
  describeRequiring(name, redisServerAvailable() ? undefined : `redis-server not found at ${REDIS_SERVER_BIN} (set REDIS_SERVER or install redis-server)`, body);
}

export interface Cluster {
  nodes: HeraldFixture[];
  /** The Redis key prefix the nodes share; a process node started with it joins the cluster. */
  prefix: string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts `count` in-process Herald nodes on one Redis, under a fresh key prefix. Presence and
 * connection entries live 3 s, so a vanished node's users are noticed within seconds.
 *
 * @example
 * await using cluster = await startCluster(redis, 3);
 * const [a, b, c] = cluster.nodes;
 */
export async function startCluster(
  redis: RedisServer,
  count: number,
  config: HeraldConfigInput = {},
  engine: Partial<RedisEngineOptions> = {},
): Promise<Cluster> {
  return startClusterOn({ url: redis.url, ...engine }, count, config);
}

/**
 * startCluster on any Redis deployment the engine options name: a Redis Cluster
 * (`{ cluster: nodes }`), Sentinel (`{ sentinels, masterName }`) or one endpoint (`{ url }`).
 *
 * @example
 * await using cluster = await startClusterOn({ cluster: redisCluster.nodes }, 3);
 */
export async function startClusterOn(engine: Partial<RedisEngineOptions>, count: number, config: HeraldConfigInput = {}): Promise<Cluster> {
  const prefix = `herald-${randomUUID().slice(0, 8)}:`;
  const nodes: HeraldFixture[] = [];
  const close = async () => {
    await Promise.all(nodes.map((n) => n.close()));
  };
  try {
    for (let i = 0; i < count; i++) {
      const redisEngine = createRedisEngine({ prefix, presenceTtlMs: 3000, ...engine });
      nodes.push(await startHerald({ channels: CLUSTER_CHANNELS, ...config }, { engine: redisEngine }));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { nodes, prefix, close, [Symbol.asyncDispose]: close };
}

export interface ProcessNode {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  /** `kill -9`: no shutdown, no cleanup, as a crash. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Runs `herald serve --config <file>` as a separate process on a free port, in the cluster of
 * `prefix` on `redis`, with the test secret and API key, so that it can be killed for real.
 * `overrides` replace whole top-level sections of that configuration (`channels`, `presence`, …).
 */
export async function spawnNode(redis: RedisServer, prefix: string, overrides: HeraldConfigInput = {}): Promise<ProcessNode> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-node-'));
  const configFile = join(dir, 'herald.yaml');
  // JSON is YAML.
  const config: HeraldConfigInput = {
    server: { host: '127.0.0.1', shutdownTimeout: 2000 },
    auth: { jwt: { secret: TEST_SECRET } },
    api: { keys: [{ key: TEST_API_KEY, name: 'test' }] },
    channels: CLUSTER_CHANNELS,
    engine: { type: 'redis', redis: { url: redis.url, prefix } },
    log: { level: 'warn' },
    ...overrides,
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const env = { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1' };
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = () => {
    process.off('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };
  let stderr = '';
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`herald serve did not start: ${stderr}`)), 15_000);
      child.stderr!.on('data', (chunk) => {
        stderr += chunk;
        const m = /Herald listening on (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`herald serve exited with ${child.exitCode}: ${stderr}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    cleanup();
    throw err;
  }
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      if (signal === 'SIGTERM') await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      child.kill('SIGKILL');
      await exited;
    }
    cleanup();
  };
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    child,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
    [Symbol.asyncDispose]: () => end('SIGTERM'),
  };
}

/** `[from, …, to]` */
export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
