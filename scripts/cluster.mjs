#!/usr/bin/env node
// `npm run cluster`: three Herald nodes on one Redis, for a demo of scaling out (docs/scaling.md).
// Uses REDIS_URL when set; otherwise starts a throwaway redis-server on a free port. The nodes
// run with the dev defaults (dev secret and API key unless JWT_SECRET / WEBHOOK_TOKEN are set)
// on 127.0.0.1 ports 5011-5013 (HOST, CLUSTER_PORTS=a,b,c to change). Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}packages/server/dist/cli.js`;
const fixture = `${root}packages/server/dist/testing/redis-server.js`;
const ports = (process.env.CLUSTER_PORTS ?? '5011,5012,5013').split(',').map((p) => Number(p.trim()));
const DEV_API_KEY = 'herald-dev-api-key';

if (!existsSync(cli)) {
  console.error('Herald is not built: run `npm run build` first.');
  process.exit(1);
}

const nodes = [];
let redis;
let stopping = false;

async function startRedis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, ours: false };
  const { startRedisServer, redisServerAvailable, REDIS_SERVER_BIN } = await import(fixture);
  if (!redisServerAvailable()) {
    console.error(`No REDIS_URL and no redis-server at ${REDIS_SERVER_BIN}: install Redis, set REDIS_SERVER to its binary, or set REDIS_URL.`);
    process.exit(1);
  }
  redis = await startRedisServer();
  return { url: redis.url, ours: true };
}

/** Starts one node; resolves with its URL once it listens. Its later output is shown prefixed with its port. */
function startNode(port, redisUrl) {
  // Local only unless HOST says otherwise: the dev secret and API key are public.
  const env = { ...process.env, HOST: process.env.HOST ?? '127.0.0.1', PORT: String(port), HERALD_ENGINE: 'redis', REDIS_URL: redisUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  const child = spawn(process.execPath, [cli, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const node = { port, child, url: '' };
  nodes.push(node);
  const relay = (stream) => {
    let buffer = '';
    stream.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop();
      // The banner is summed up once for all nodes below; everything after it is shown.
      for (const line of lines) if (node.url && line.trim()) console.log(`[${port}] ${line}`);
    });
  };
  relay(child.stdout);
  return new Promise((resolve, reject) => {
    let banner = '';
    const onBanner = (chunk) => {
      banner += chunk;
      const m = /Herald listening on (http:\/\/\S+)/.exec(banner);
      if (!m) return;
      child.stderr.off('data', onBanner);
      node.url = m[1];
      relay(child.stderr);
      resolve(node);
    };
    child.stderr.on('data', onBanner);
    child.once('exit', (code, signal) => {
      if (!node.url) return reject(new Error(`node on port ${port} exited (${signal ?? code}):\n${banner}`));
      if (!stopping) {
        console.error(`[${port}] exited (${signal ?? code}); stopping the cluster`);
        void stop(1);
      }
    });
  });
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    nodes.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  await redis?.close();
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  const { url: redisUrl, ours } = await startRedis();
  await Promise.all(ports.map((port) => startNode(port, redisUrl)));
  const [first, second, third] = nodes.map((n) => n.url);
  const key = process.env.WEBHOOK_TOKEN || process.env.API_KEYS?.split(',')[0] || DEV_API_KEY;
  console.log(
    [
      `Herald cluster: ${nodes.length} nodes on ${redisUrl}${ours ? ' (a throwaway redis-server, stopped with the cluster)' : ''}`,
      ...nodes.map((n, i) => `  node ${i + 1}  ${n.url}   WebSocket ${n.url.replace(/^http/, 'ws')}/ws?token=<jwt>   SSE ${n.url}/sse?channels=<a,b>`),
      '',
      'Try it (each command in its own terminal; any node serves any client):',
      '  TOKEN=$(npx herald token --sub alice --name Alice)',
      `  curl -N -H "Authorization: Bearer $TOKEN" '${second}/sse?channels=news'`,
      `  npx herald publish news hello '{"text":"hi"}' --url ${first} --key ${key}`,
      `  curl -H 'Authorization: Bearer ${key}' '${third ?? first}/api/v1/channels/news/history'`,
      '',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  await stop(1);
}
