import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { signToken, type HeraldConfig } from '@herald/server';
import { SseTestClient, startRedisServer, TestClient, within, type RedisServer } from '@herald/server/testing';
import { describeWithRedis } from '../support/cluster.js';
import { execForm, parseDockerfile, runStage, type StageRun } from './dockerfile.js';
import { loadWithEnv } from './herald-env.js';
import { containerEnv, find, loadManifests, readRoot, ROOT } from './manifests.js';

// The image's runtime stage carried out on this machine (no container engine here): a fresh
// directory, the Dockerfile's own COPY and RUN steps (npm ci --omit=dev), the built output of
// this checkout standing in for the build stage; then the image's CMD with the environment
// k8s/deployment.yaml gives the container, on a redis-server of the test's own.
const dockerfile = parseDockerfile(readRoot('Dockerfile'));
const objects = loadManifests();
const deployment = find(objects, 'Deployment', 'herald');
const pod = deployment.spec.template.spec;
const container = pod.containers.find((c: any) => c.name === 'herald');
const podEnv = containerEnv(objects, container);
const configYaml = find(objects, 'ConfigMap', 'herald').data!['herald.yaml']!;

/** npm reads its cache only (the test's own install shares the machine's), falling back to the registry on a miss. */
async function installRuntime(root: string): Promise<StageRun> {
  const options = { context: ROOT, root, stageDirs: { build: ROOT } };
  try {
    return await runStage(dockerfile.final, { ...options, runEnv: { npm_config_offline: 'true' } });
  } catch (err) {
    if (!/ENOTCACHED|offline/i.test(String(err))) throw err;
    rmSync(root, { recursive: true, force: true });
    return runStage(dockerfile.final, { ...options, runEnv: { npm_config_prefer_offline: 'true' } });
  }
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function runToEnd(command: string[], cwd: string, env: Record<string, string>): Promise<number | null> {
  const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: 'ignore' });
  return exitOf(child).then((e) => e.code);
}

describeWithRedis('the image, installed for production and started with the Kubernetes environment', () => {
  let redis: RedisServer;
  let dir: string;
  let stage: StageRun;
  let herald: ChildProcess;
  let url = '';
  let env: Record<string, string>;
  let config: HeraldConfig;
  let stderr = '';

  before(async () => {
    for (const built of ['packages/server/dist/cli.js', 'packages/protocol/dist/index.js']) {
      assert.ok(existsSync(join(ROOT, built)), `${built} is missing: run npm run build first`);
    }
    dir = mkdtempSync(join(tmpdir(), 'herald-image-'));
    redis = await startRedisServer();
    stage = await installRuntime(join(dir, 'app'));
    writeFileSync(join(dir, 'herald.yaml'), configYaml);
    env = {
      PATH: process.env.PATH ?? '',
      ...stage.env,
      ...podEnv,
      HERALD_CONFIG: join(dir, 'herald.yaml'),
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_HOST: redis.host,
      REDIS_PORT: String(redis.port),
      LOG_LEVEL: 'warn',
    };
    config = loadWithEnv(env).loaded.config;
    const command = execForm(dockerfile.step(dockerfile.final, 'CMD')!);
    herald = spawn(command[0]!, command.slice(1), { cwd: stage.workdir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "Herald listening" within 20 s: ${stderr}`)), 20_000);
      herald.stderr!.on('data', (chunk) => {
        stderr += chunk;
        const m = /Herald listening on (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      herald.once('exit', (code) => reject(new Error(`herald exited with ${code}: ${stderr}`)));
    });
    // The image's PORT is fixed; here the server took a free one, which the HEALTHCHECK must use.
    env.PORT = new URL(url).port;
  });

  after(async () => {
    if (herald && herald.exitCode === null && herald.signalCode === null) herald.kill('SIGKILL');
    await redis?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds production dependencies and built output only', () => {
    const modules = join(stage.workdir, 'node_modules');
    for (const dev of ['typescript', 'esbuild', 'socket.io-client', 'playwright-core', 'dockerfile-ast']) {
      assert.ok(!existsSync(join(modules, dev)), `${dev} is installed`);
    }
    for (const runtimeDep of ['fastify', 'ioredis', 'ws', 'socket.io', 'zod', 'pino']) assert.ok(existsSync(join(modules, runtimeDep)), `${runtimeDep} is missing`);
    assert.ok(lstatSync(join(modules, '@herald/protocol')).isSymbolicLink(), 'the protocol package is linked');
    assert.ok(!existsSync(join(stage.workdir, 'packages/server/src')), 'no sources');
    // The console's bundle, where the server looks for it when `console.enabled`.
    for (const file of ['index.html', 'console.js', 'console.css']) assert.ok(existsSync(join(stage.workdir, 'packages/console/dist/public', file)), `console ${file} is missing`);
    assert.ok(!existsSync(join(stage.workdir, 'packages/console/src')), 'no console sources');
    assert.equal(stage.env.NODE_ENV, 'production');
  });

  it("starts from the image's CMD and serves /health, the HEALTHCHECK, /ready and a publish to a subscriber", async () => {
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { engine: string }).engine, 'redis');
    assert.equal(await runToEnd(execForm(dockerfile.step(dockerfile.final, 'HEALTHCHECK')!), stage.workdir, env), 0, 'HEALTHCHECK');
    assert.equal((await fetch(`${url}/ready`)).status, 200);

    const client = new TestClient(`${url.replace(/^http/, 'ws')}/ws?token=${await signToken(config, { sub: 'alice' }, 600)}`);
    try {
      await client.opened();
      client.send({ type: 'subscribe', id: 1, channel: 'news' });
      await client.next((f) => f.type === 'reply' && f.id === 1, 10_000);
      const published = await fetch(`${url}/api/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${podEnv.WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'news', event: 'hello', data: { text: 'hi' } }),
      });
      assert.equal(published.status, 200, await published.clone().text());
      const pub = await client.next((f) => f.type === 'pub', 10_000);
      assert.deepEqual([pub.channel, pub.event, pub.data], ['news', 'hello', { text: 'hi' }]);
      // The dev API key is refused in production.
      const dev = await fetch(`${url}/api/v1/publish`, { method: 'POST', headers: { authorization: 'Bearer herald-dev-api-key', 'content-type': 'application/json' }, body: '{}' });
      assert.equal(dev.status, 401);
    } finally {
      client.ws.terminate();
    }
  });

  it('drains WebSocket, Socket.IO and SSE clients after the preStop pause, within terminationGracePeriodSeconds', async () => {
    // One user per connection: limits.connectionsPerUser (5) would close the oldest of one user's.
    const tokens = await Promise.all(Array.from({ length: 35 }, (_, i) => signToken(config, { sub: `user-${i}` }, 600)));
    const ws = tokens.slice(0, 20).map((token) => new TestClient(`${url.replace(/^http/, 'ws')}/ws?token=${token}`));
    const sockets: Socket[] = tokens.slice(20, 30).map((token, i) => io(url, { auth: { token }, transports: [i % 2 ? 'polling' : 'websocket'], reconnection: false }));
    const sse = tokens.slice(30).map((token) => new SseTestClient(`${url}/sse?channels=news&token=${token}`));
    try {
      await Promise.all(ws.map((c) => c.opened()));
      ws.forEach((c) => c.send({ type: 'subscribe', id: 1, channel: 'news' }));
      await Promise.all(ws.map((c) => c.next((f) => f.type === 'reply' && f.id === 1, 10_000)));
      await Promise.all(sockets.map((s) => within(new Promise<void>((resolve) => (s.connected ? resolve() : s.once('connect', () => resolve()))), 10_000, 'a Socket.IO connect')));
      await Promise.all(sse.map((c) => c.next((e) => e.event === 'connected', 10_000)));
      const sioDisconnects = sockets.map((s) => new Promise<string>((resolve) => s.once('disconnect', resolve)));
      const served = (await (await fetch(`${url}/health`)).json()) as { connections: number };
      assert.ok(served.connections >= 35, `${served.connections} connections`);

      // As the kubelet does: the preStop hook to its end, then SIGTERM, SIGKILL at the grace period.
      const grace = pod.terminationGracePeriodSeconds * 1000;
      const started = Date.now();
      const exited = exitOf(herald);
      assert.equal(await runToEnd(container.lifecycle.preStop.exec.command, stage.workdir, env), 0, 'preStop');
      assert.equal((await fetch(`${url}/ready`)).status, 200, 'still serving during the pause');
      const signalled = Date.now();
      herald.kill('SIGTERM');
      const exit = await within(exited, grace - (signalled - started), 'exit within the grace period');
      const total = Date.now() - started;

      assert.deepEqual(exit, { code: 0, signal: null }, stderr);
      assert.ok(total < grace, `${total} ms of ${grace}`);
      assert.ok(Date.now() - signalled < config.server.shutdownTimeout, `the drain took ${Date.now() - signalled} ms, past server.shutdownTimeout`);
      for (const c of ws) assert.equal((await within(c.closed, 5000)).code, 1012, 'WebSocket clients are told to reconnect elsewhere');
      for (const reason of await within(Promise.all(sioDisconnects), 5000)) assert.ok(reason, 'Socket.IO clients are disconnected');
      await within(Promise.all(sse.map((c) => c.done)), 5000, 'SSE streams ended');
    } finally {
      for (const c of ws) c.ws.terminate();
      for (const s of sockets) s.close();
      for (const c of sse) c.close();
    }
  });
});
