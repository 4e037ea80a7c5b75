import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, signToken } from '@herald/server';
import { SseTestClient } from '@herald/server/testing';
import { describeWithRedis } from '../support/cluster.js';

const SCRIPT = fileURLToPath(new URL('../../../../scripts/cluster.mjs', import.meta.url));
const DEV_API_KEY = 'herald-dev-api-key';

/** Ports free right now, for the script's CLUSTER_PORTS. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return false;
  } catch {
    return true;
  }
}

describeWithRedis('npm run cluster', () => {
  it('starts three nodes on one throwaway Redis that act as one, and stops them all on Ctrl-C', async () => {
    const ports = await freePorts(3);
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', CLUSTER_PORTS: ports.join(','), LOG_LEVEL: 'warn' };
    if (process.env.REDIS_SERVER) env.REDIS_SERVER = process.env.REDIS_SERVER;
    const child = spawn(process.execPath, [SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let output = '';
    child.stderr.on('data', (chunk) => (output += chunk));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the cluster did not start:\n${output}`)), 30_000);
        child.stdout.on('data', (chunk) => {
          output += chunk;
          if (output.includes('Ctrl-C stops everything.')) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then((code) => reject(new Error(`the cluster exited with ${code}:\n${output}`)));
      });
      const urls = ports.map((port) => `http://127.0.0.1:${port}`);
      for (const url of urls) assert.equal((await fetch(`${url}/ready`)).status, 200, url);

      // A stream on node 3 gets what is published through node 1's API.
      const { config } = loadConfig({ env: {} });
      const token = await signToken(config, { sub: 'alice' }, 600);
      const stream = new SseTestClient(`${urls[2]}/sse?channels=news&token=${token}`);
      assert.equal(await stream.opened, 200);
      await stream.next((e) => e.event === 'connected');
      const published = await fetch(`${urls[0]}/api/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEV_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'news', event: 'hello', data: { text: 'hi' } }),
      });
      assert.equal(published.status, 200);
      const hello = await stream.next((e) => e.event === 'hello');
      assert.deepEqual(JSON.parse(hello.data).data, { text: 'hi' });
      stream.close();
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, output);
    for (const port of ports) assert.ok(await refused(`http://127.0.0.1:${port}/health`), `node on ${port} stopped`);
  });
});
