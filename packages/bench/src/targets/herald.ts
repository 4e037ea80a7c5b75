// Herald variants: one server process (native WebSocket, Socket.IO, SSE) or two nodes on Redis.
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { mintToken } from '../jwt.js';
import type { ClientPlan } from '../plan.js';
import { freePort, waitForPort } from '../ports.js';
import { maxFiles, spawnChild, type Child } from '../processes.js';
import { startRedis } from './redis.js';
import { SERVER_CORE, TargetUnavailable, type RunningTarget, type StartOptions, type Target } from '../target.js';

export const HOST = '127.0.0.1';
const CLI = fileURLToPath(new URL('../../../server/dist/cli.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../herald.bench.yaml', import.meta.url));
const JWT_SECRET = 'herald-bench-secret-0123456789abcdef';
const API_KEY = 'herald-bench-api-key';

interface Probe {
  status: number;
  contentType: string;
  body: string;
}

/** One GET, reading at most the first kilobyte (an SSE stream never ends by itself). */
function probe(port: number, path: string, headers: Record<string, string> = {}): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path, headers, timeout: 3000 }, (res) => {
      let body = '';
      const done = () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body });
      };
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
        if (body.length > 1024 || res.headers['content-type']?.startsWith('text/event-stream')) done();
      });
      res.on('end', done);
      res.on('error', done);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 3 s`)));
    req.on('error', reject);
    req.end();
  });
}

export async function startNode(name: string, options: StartOptions, env: Record<string, string>): Promise<{ child: Child; port: number }> {
  if (!existsSync(CLI)) throw new TargetUnavailable(`the server is not built (${CLI} is missing)`);
  const port = await freePort();
  const profile = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
  const child = spawnChild({
    name,
    args: [...profile, CLI, 'serve', '--config', CONFIG],
    core: SERVER_CORE,
    env: { ...process.env, NODE_ENV: 'production', PORT: String(port), JWT_SECRET, API_KEYS: API_KEY, LOG_LEVEL: 'warn', BENCH_HISTORY: String(options.history ?? 0), ...env },
    nofile: maxFiles(options.connections + 1000),
  });
  try {
    await waitForPort(port, 15_000, () => child.exited());
  } catch (err) {
    await child.stop();
    throw new TargetUnavailable(`${name} did not start: ${(err as Error).message}`);
  }
  return { child, port };
}

export function running(nodes: { child: Child; port: number }[], clients: Omit<ClientPlan, 'host' | 'ports' | 'jwtSecret'>, helpers: Child[] = []): RunningTarget {
  const [first] = nodes;
  return {
    url: `http://${HOST}:${first.port}`,
    pids: nodes.map((n) => n.child.pid),
    helperPids: helpers.map((h) => h.pid),
    clients: { ...clients, host: HOST, ports: nodes.map((n) => n.port), jwtSecret: JWT_SECRET },
    publish: {
      host: HOST,
      port: first.port,
      path: '/api/v1/publish',
      batchPath: '/api/v1/publish/batch',
      headers: { authorization: `Bearer ${API_KEY}` },
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.child.stop()));
      await Promise.all(helpers.map((h) => h.stop()));
    },
  };
}

/**
 * Starts one node and checks that it serves what `check` asks: `check` returns why not when the
 * transport is simply absent (404), and throws when it is there but misbehaves.
 */
async function startChecked(
  name: string,
  options: StartOptions,
  clients: Omit<ClientPlan, 'host' | 'ports' | 'jwtSecret'>,
  check?: (port: number) => Promise<string | null>,
): Promise<RunningTarget> {
  const node = await startNode(name, options, {});
  let missing: string | null = null;
  try {
    missing = check ? await check(node.port) : null;
  } catch (err) {
    await node.child.stop();
    throw err;
  }
  if (missing) {
    await node.child.stop();
    throw new TargetUnavailable(missing);
  }
  return running([node], clients);
}

export const heraldWs: Target = {
  name: 'herald-ws',
  peer: false,
  nodes: 1,
  description: 'Herald, native WebSocket protocol at /ws',
  start: (options) => startChecked('herald-ws', options, { dialect: 'herald-ws', path: '/ws?token={token}' }),
};

export const heraldSocketIo: Target = {
  name: 'herald-socketio',
  peer: false,
  nodes: 1,
  description: 'Herald, Socket.IO transport (auth {token}, join-room {room})',
  start: (options) =>
    startChecked(
      'herald-socketio',
      options,
      { dialect: 'socketio', path: '/socket.io/?EIO=4&transport=websocket', socketio: { auth: true, joinEvent: 'join-room' } },
      async (port) => {
        const answer = await probe(port, '/socket.io/?EIO=4&transport=polling');
        if (answer.status === 404) return 'Herald does not serve Socket.IO yet (GET /socket.io/ answered 404)';
        if (answer.status !== 200 || !answer.body.startsWith('0')) throw new Error(`GET /socket.io/ answered ${answer.status}: ${answer.body.slice(0, 200)}`);
        return null;
      },
    ),
};

export const heraldSse: Target = {
  name: 'herald-sse',
  peer: false,
  nodes: 1,
  description: 'Herald, Server-Sent Events at /sse?channels=',
  start: (options) =>
    startChecked('herald-sse', options, { dialect: 'sse', path: '/sse?channels={room}&token={token}' }, async (port) => {
      const token = mintToken(JWT_SECRET, 'bench-probe');
      const answer = await probe(port, `/sse?channels=room-0&token=${token}`, { accept: 'text/event-stream' });
      if (answer.status === 404) return 'Herald does not serve SSE yet (GET /sse answered 404)';
      if (answer.status !== 200 || !answer.contentType.startsWith('text/event-stream')) {
        throw new Error(`GET /sse answered ${answer.status} ${answer.contentType}: ${answer.body.slice(0, 200)}`);
      }
      return null;
    }),
};

/** Two Herald nodes on one Redis; clients alternate between nodes, publications go to the first. */
export const heraldRedis: Target = {
  name: 'herald-redis-2',
  peer: false,
  nodes: 2,
  description: 'Herald, 2 nodes on the Redis engine, native WebSocket',
  async start(options) {
    const { redis, url } = await startRedis(HOST);
    const env = { HERALD_ENGINE: 'redis', REDIS_URL: url };
    const nodes: { child: Child; port: number }[] = [];
    try {
      nodes.push(await startNode('herald-redis-a', options, env));
      nodes.push(await startNode('herald-redis-b', options, env));
    } catch (err) {
      await Promise.all([...nodes.map((n) => n.child.stop()), redis.stop()]);
      throw err;
    }
    return running(nodes, { dialect: 'herald-ws', path: '/ws?token={token}' }, [redis]);
  },
};
