import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import WebSocket from 'ws';
import { redisServerAvailable, sleep, SseTestClient, startRedisServer, TestClient, waitFor, type RedisServer } from '@herald/server/testing';
import { startCluster, type Cluster } from '../support/cluster.js';
import { describeRequiring } from '../support/requires.js';
import { ROOT } from './manifests.js';
import { NGINX_BIN, startNginx, type Nginx } from './nginx.js';

// docker-compose.yml's load balancer, deploy/nginx.conf, run by a real nginx in front of three
// real nodes on one Redis; only its upstream addresses and listen port are rewritten.
const CONF = join(ROOT, 'deploy/nginx.conf');
const missing = !NGINX_BIN ? 'nginx not found (set NGINX or install nginx)' : !redisServerAvailable() ? 'redis-server not found' : undefined;

/** One HTTP request from a given source address, on a connection of its own. */
function send(url: string, localAddress: string, method: 'GET' | 'POST', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, localAddress, agent: false, headers: body === undefined ? {} : { 'content-type': 'text/plain;charset=UTF-8' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer`)));
    req.end(body);
  });
}

/**
 * A Socket.IO client's long-polling start, from `address`: the Engine.IO handshake, the
 * Socket.IO CONNECT with the token (a POST) and the poll that brings the CONNECT's answer. Each
 * request on its own connection, so only the load balancer decides where it goes.
 */
async function pollingSession(base: string, address: string, token: string): Promise<string[]> {
  const path = `${base}/socket.io/?EIO=4&transport=polling`;
  const steps: string[] = [];
  const open = await send(path, address, 'GET');
  steps.push(`handshake ${open.status}`);
  const sid = /"sid":"([^"]+)"/.exec(open.body)?.[1];
  if (open.status !== 200 || !sid) return steps;
  const connect = await send(`${path}&sid=${sid}`, address, 'POST', `40${JSON.stringify({ token })}`);
  steps.push(`connect ${connect.status}`);
  if (connect.status !== 200) return steps;
  const poll = await send(`${path}&sid=${sid}`, address, 'GET');
  steps.push(`poll ${poll.status}${/(^|\x1e)40\{/.test(poll.body) ? ' connected' : ''}`);
  return steps;
}

/**
 * A native WebSocket subscriber from one client address that does what a client of a drained
 * node should: on 1012 it reconnects at once, through the same load balancer, and resubscribes
 * after the last publication it received.
 */
class Follower {
  readonly ids: string[] = [];
  readonly closes: number[] = [];
  readonly recoveries: unknown[] = [];
  private socket: WebSocket | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly localAddress: string,
    private readonly channel: string,
  ) {}

  start(): Promise<void> {
    const socket = new WebSocket(this.url, { localAddress: this.localAddress });
    this.socket = socket;
    const subscribed = new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('message', (raw) => {
        const frame = JSON.parse(raw.toString());
        if (frame.type === 'reply' && frame.id === 1) {
          if (frame.result?.recovery) this.recoveries.push(frame.result.recovery);
          resolve();
        }
        if (frame.type === 'pub' && frame.channel === this.channel) this.ids.push(frame.id);
      });
    });
    socket.once('open', () => {
      const since = this.ids.length > 0 ? { since: { lastId: this.ids.at(-1) } } : {};
      socket.send(JSON.stringify({ type: 'subscribe', id: 1, channel: this.channel, ...since }));
    });
    socket.once('close', (code) => {
      this.closes.push(code);
      // 1012 at once, as a client told to go elsewhere; anything else after a pause.
      if (!this.stopped) setTimeout(() => void this.start().catch(() => undefined), code === 1012 ? 0 : 200);
    });
    return subscribed;
  }

  stop(): void {
    this.stopped = true;
    this.socket?.terminate();
  }
}

const addresses = Array.from({ length: 12 }, (_, i) => `127.0.0.${10 + i}`);

describeRequiring("docker-compose.yml's nginx in front of three nodes", missing, () => {
  let redis: RedisServer;
  let cluster: Cluster;
  let nginx: Nginx;

  before(async () => {
    redis = await startRedisServer();
    cluster = await startCluster(redis, 3);
    nginx = await startNginx(CONF, cluster.nodes.map((n) => new URL(n.url).host));
  });

  after(async () => {
    await nginx?.close();
    await cluster?.close();
    await redis?.close();
  });

  it('keeps each Socket.IO long-polling session on one node, and spreads client addresses over the nodes', async () => {
    const connects = cluster.nodes.map(() => 0);
    const stop = cluster.nodes.map((n, i) => n.server.node.events.on('connect', (e) => void (e.transport === 'socketio' && connects[i]!++)));
    for (const [i, address] of addresses.entries()) {
      const token = await cluster.nodes[0]!.token({ sub: `poller-${i}` });
      assert.deepEqual(await pollingSession(nginx.url, address, token), ['handshake 200', 'connect 200', 'poll 200 connected'], address);
    }
    // The lifecycle event may follow the CONNECT's answer by a moment.
    await waitFor(() => connects.reduce((a, b) => a + b, 0) === addresses.length, `a Socket.IO connect for each address`);
    stop.forEach((off) => off());
    assert.ok(connects.filter((c) => c > 0).length >= 2, `every address on one node: ${connects}`);
  });

  it('passes WebSocket upgrades and SSE streams, and a publish through it reaches subscribers on every node', async () => {
    const wsUrl = nginx.url.replace(/^http/, 'ws');
    const clients = await Promise.all(
      addresses.slice(0, 6).map(async (localAddress, i) => new TestClient(`${wsUrl}/ws?token=${await cluster.nodes[0]!.token({ sub: `ws-${i}` })}`, { localAddress })),
    );
    const sse = new SseTestClient(`${nginx.url}/sse?channels=news&token=${await cluster.nodes[0]!.token({ sub: 'sse' })}`);
    try {
      await Promise.all(clients.map((c) => c.opened()));
      clients.forEach((c) => c.send({ type: 'subscribe', id: 1, channel: 'news' }));
      await Promise.all(clients.map((c) => c.next((f) => f.type === 'reply' && f.id === 1, 10_000)));
      await sse.next((e) => e.event === 'connected', 10_000);
      const holding = cluster.nodes.filter((n) => [...n.server.node.sessions.values()].some((s) => s.link.transport === 'websocket'));
      assert.ok(holding.length >= 2, 'the WebSocket clients are on more than one node');

      const published = await fetch(`${nginx.url}/api/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cluster.nodes[0]!.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'news', event: 'hello', data: { via: 'nginx' } }),
      });
      assert.equal(published.status, 200);
      await Promise.all(clients.map((c) => c.next((f) => f.type === 'pub' && f.data?.via === 'nginx', 10_000)));
      // Unbuffered: the event arrives while the stream stays open.
      const event = await sse.next((e) => e.event === 'hello', 10_000);
      assert.deepEqual(JSON.parse(event.data).data, { via: 'nginx' });
    } finally {
      for (const c of clients) c.ws.terminate();
      sse.close();
    }
  });

  it('without its affinity line, the same long-polling starts break: the setting is what holds them', async () => {
    const plain = await startNginx(CONF, cluster.nodes.map((n) => new URL(n.url).host), (conf) => conf.replace(/^\s*hash \$remote_addr consistent;$/m, ''));
    try {
      const results: string[][] = [];
      for (const [i, address] of addresses.slice(0, 4).entries()) {
        results.push(await pollingSession(plain.url, address, await cluster.nodes[0]!.token({ sub: `unsticky-${i}` })));
      }
      assert.ok(results.some((steps) => steps.at(-1) !== 'poll 200 connected'), `every session held without affinity: ${JSON.stringify(results)}`);
    } finally {
      await plain.close();
    }
  });

  it('drains a node behind it: its clients reconnect through nginx to the others and miss nothing', async () => {
    const channel = 'drain-feed';
    const followers = await Promise.all(
      addresses.slice(0, 6).map(async (address, i) => new Follower(`${nginx.url.replace(/^http/, 'ws')}/ws?token=${await cluster.nodes[0]!.token({ sub: `drainee-${i}` })}`, address, channel)),
    );
    try {
      await Promise.all(followers.map((f) => f.start()));
      const holds = (n: (typeof cluster.nodes)[number], i: number) => [...n.server.node.sessions.values()].some((s) => s.identity.userId === `drainee-${i}`);
      const doomed = cluster.nodes.find((n) => followers.some((_f, i) => holds(n, i)) && n !== cluster.nodes[0])
        ?? cluster.nodes.find((n) => followers.some((_f, i) => holds(n, i)))!;
      const moved = followers.filter((_f, i) => holds(doomed, i));

      const published: string[] = [];
      for (let i = 1; i <= 60; i++) {
        // As a publishing service would: retry through the load balancer with the same key.
        for (let attempt = 0; ; attempt++) {
          const response = await fetch(`${nginx.url}/api/v1/publish`, {
            method: 'POST',
            headers: { authorization: `Bearer ${cluster.nodes[0]!.apiKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ channel, event: 'tick', data: { i }, idempotencyKey: `drain-${i}` }),
          }).catch(() => undefined);
          if (response?.status === 200) {
            const { id } = (await response.json()) as { id: string };
            if (!published.includes(id)) published.push(id);
            break;
          }
          assert.ok(attempt < 50, `publish ${i}: ${response?.status}`);
          await sleep(50);
        }
        if (i === 20) void doomed.close();
        await sleep(10);
      }
      await waitFor(() => followers.every((f) => f.ids.length >= published.length), 'every follower to have every publication', 15_000).catch((err: Error) => {
        const state = followers.map((f) => ({ received: f.ids.length, closes: f.closes, recoveries: f.recoveries }));
        throw new Error(`${err.message}: ${published.length} published; ${JSON.stringify(state)}`);
      });
      for (const f of followers) assert.deepEqual(f.ids, published, 'each publication once, in order');
      for (const f of moved) {
        assert.deepEqual(f.closes, [1012], 'told to reconnect elsewhere, and let in by another node at the first attempt');
        assert.deepEqual(f.recoveries.map((r: any) => r.recovered), [true]);
      }
      assert.ok(moved.length > 0);
    } finally {
      for (const f of followers) f.stop();
    }
  });
});
