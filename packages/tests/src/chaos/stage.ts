import { randomUUID } from 'node:crypto';
import type { HeraldConfigInput } from '@herald/server';
import { startRedisServer, type RedisServer } from '@herald/server/testing';
import { spawnNode, type ProcessNode } from '../support/cluster.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * What the nodes run with: every channel open, history deep and long enough that nothing is
 * trimmed during a run (so a loss outside a Redis restart has no excuse), no tenant-wide
 * online/offline events (they would only add noise to every reconnect).
 */
export const CHAOS_NODE_CONFIG: HeraldConfigInput = {
  channels: { rules: [{ pattern: '*', subscribe: 'all', publish: 'none', history: { size: 20_000, ttl: '30m' } }] },
  presence: { userEvents: false },
};

/** A redis-server of its own, Herald nodes as processes on it, and a proxy in front of each. */
export interface Stage {
  readonly redis: RedisServer;
  readonly nodes: ProcessNode[];
  /** proxies[i] is node i's load balancer; after a kill it sends new connections elsewhere. */
  readonly proxies: TcpProxy[];
  /**
   * A proxy some publish attempts go through, in front of node 1 (or whichever node is alive),
   * whose answers the run holds back and drops: publications stored, their 200 lost.
   */
  readonly publishProxy: TcpProxy;
  /** Current URL of each node slot (a killed node keeps its old, dead URL until restarted). */
  nodeUrls(): string[];
  /** Starts a new process in slot `i` and points its proxy back at it. */
  restartNode(i: number): Promise<void>;
  close(): Promise<void>;
}

export async function startStage(count: number): Promise<Stage> {
  const redis = await startRedisServer();
  const prefix = `chaos-${randomUUID().slice(0, 8)}:`;
  const nodes: ProcessNode[] = [];
  const proxies: TcpProxy[] = [];
  const close = async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.close();
  };
  try {
    nodes.push(...(await Promise.all(Array.from({ length: count }, () => spawnNode(redis, prefix, CHAOS_NODE_CONFIG)))));
    proxies.push(...(await Promise.all(nodes.map((n) => startTcpProxy(n.url)))));
    proxies.push(await startTcpProxy(nodes[0].url));
  } catch (err) {
    await close();
    throw err;
  }
  const publishProxy = proxies.pop()!;
  const closeAll = async () => {
    await publishProxy.close();
    await close();
  };
  return {
    redis,
    nodes,
    proxies,
    publishProxy,
    nodeUrls: () => nodes.map((n) => n.url),
    async restartNode(i) {
      nodes[i] = await spawnNode(redis, prefix, CHAOS_NODE_CONFIG);
      proxies[i].retarget(nodes[i].url);
      if (i === 0) publishProxy.retarget(nodes[0].url);
    },
    close: closeAll,
  };
}
