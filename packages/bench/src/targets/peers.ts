// The peers every Herald figure is compared with, each server in its own pinned process.
import { fileURLToPath } from 'node:url';
import { loadUws } from '../peers/uws-binary.js';
import type { Dialect } from '../plan.js';
import { freePort, waitForPort } from '../ports.js';
import { maxFiles, spawnChild, type Child } from '../processes.js';
import { SERVER_CORE, TargetUnavailable, type RunningTarget, type StartOptions, type Target } from '../target.js';
import { startRedis } from './redis.js';

const HOST = '127.0.0.1';

interface PeerSpec {
  name: string;
  script: string;
  dialect: Dialect;
  path: string;
  description: string;
  /** Why the peer cannot run here, checked before it is started. */
  unavailable?: () => string | null;
}

async function startProcess(spec: PeerSpec, name: string, options: StartOptions, env: Record<string, string> = {}): Promise<{ child: Child; port: number }> {
  const port = await freePort();
  const profile = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
  const child = spawnChild({
    name,
    args: [...profile, fileURLToPath(new URL(`../peers/${spec.script}`, import.meta.url))],
    core: SERVER_CORE,
    env: { ...process.env, PORT: String(port), ...env },
    ipc: true,
    nofile: maxFiles(options.connections + 1000),
  });
  try {
    await waitForPort(port, 10_000, () => child.exited());
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, port };
}

function running(spec: PeerSpec, nodes: { child: Child; port: number }[], helpers: Child[] = []): RunningTarget {
  const [first] = nodes;
  return {
    url: `http://${HOST}:${first.port}`,
    pids: nodes.map((n) => n.child.pid),
    helperPids: helpers.map((h) => h.pid),
    clients: { dialect: spec.dialect, host: HOST, ports: nodes.map((n) => n.port), path: spec.path },
    publish: { host: HOST, port: first.port, path: '/publish', batchPath: '/publish/batch', headers: {} },
    async stop() {
      await Promise.all(nodes.map((n) => n.child.stop()));
      await Promise.all(helpers.map((h) => h.stop()));
    },
  };
}

function peer(spec: PeerSpec): Target {
  return {
    name: spec.name,
    peer: true,
    nodes: 1,
    description: spec.description,
    async start(options) {
      const why = spec.unavailable?.();
      if (why) throw new TargetUnavailable(why);
      return running(spec, [await startProcess(spec, spec.name, options)]);
    },
  };
}

export const wsReference = peer({
  name: 'ws-reference',
  script: 'ws-reference.js',
  dialect: 'ws-plain',
  path: '/?room={room}',
  description: 'minimal `ws` server, each publication framed once',
});

export const wsCorked = peer({
  name: 'ws-corked',
  script: 'ws-corked.js',
  dialect: 'ws-plain',
  path: '/?room={room}',
  description: 'the `ws` reference with one write per socket per event-loop turn (cork, uncork in setImmediate)',
});

export const uws = peer({
  name: 'uws',
  script: 'uws.js',
  dialect: 'ws-plain',
  path: '/?room={room}',
  description: 'uWebSockets.js, app.publish(room, message)',
  unavailable: () => {
    const loaded = loadUws();
    return 'reason' in loaded ? loaded.reason : null;
  },
});

const socketioSpec: PeerSpec = {
  name: 'socketio-plain',
  script: 'socketio-plain.js',
  dialect: 'socketio',
  path: '/socket.io/?EIO=4&transport=websocket&room={room}',
  description: 'plain socket.io 4.x, io.to(room).emit()',
};

export const socketioPlain = peer(socketioSpec);

/** socket.io on two nodes with @socket.io/redis-adapter: the peer of herald-redis-2. */
export const socketioRedis: Target = {
  name: 'socketio-redis-2',
  peer: true,
  nodes: 2,
  description: 'socket.io 4.x on 2 nodes with @socket.io/redis-adapter',
  async start(options) {
    const { redis, url } = await startRedis(HOST);
    const nodes: { child: Child; port: number }[] = [];
    try {
      nodes.push(await startProcess(socketioSpec, 'socketio-redis-a', options, { REDIS_URL: url }));
      nodes.push(await startProcess(socketioSpec, 'socketio-redis-b', options, { REDIS_URL: url }));
    } catch (err) {
      await Promise.all([...nodes.map((n) => n.child.stop()), redis.stop()]);
      throw err;
    }
    return running(socketioSpec, nodes, [redis]);
  },
};
