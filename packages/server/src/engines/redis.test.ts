import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { EngineUnavailableError, type Engine, type ExpiredEntry, type PublishOptions } from '../engine.js';
import { REDIS_SERVER_BIN, type RedisServer, redisServerAvailable, startRedisServer } from '../testing/redis-server.js';
import { waitFor } from '../testing/wait.js';
import { type Node, RecordingHandler, input, runEngineSuite, sleep, uniqueKey } from './engine.case.js';
import { RedisKeys } from './redis-keys.js';
import { type RedisEngineOptions, createRedisEngine } from './redis.js';

const OPTS: PublishOptions = { history: { size: 100, ttlMs: 60_000, metaTtlMs: 3_600_000 } };

if (!redisServerAvailable()) {
  const message = `redis-server not found at ${REDIS_SERVER_BIN} (set REDIS_SERVER or install redis-server)`;
  if (process.env.CI === 'true') {
    // CI must exercise the Redis engine: a missing binary is a failure, never a skip.
    describe('Engine: redis', () => {
      it('has a redis-server to test against', () => assert.fail(message));
    });
  } else {
    console.warn(`\n!!! SKIPPING the Redis engine tests: ${message}. With CI=true this fails.\n`);
    describe('Engine: redis', { skip: message }, () => undefined);
  }
} else {
  describe('redis', () => {
    let server: RedisServer;
    const prefix = `herald-test-${randomUUID().slice(0, 8)}:`;

    before(async () => {
      server = await startRedisServer();
    });
    after(async () => {
      await server.close();
    });

    runEngineSuite({
      name: 'redis',
      create: () => createRedisEngine({ url: server.url, prefix }),
      shared: true,
      deliversOnlySubscribed: true,
      // Written by hand, as another program (or an older version) could: the next offset, and an entry that is not JSON.
      async plantUnreadable(_engine, key) {
        const names = new RedisKeys(prefix);
        const offset = Number((await server.command('HINCRBY', names.meta(key), 'o', '1')).slice(1));
        await server.command('XADD', names.history(key), `${offset}-0`, 't', String(Date.now()), 'p', 'not json');
        return offset;
      },
    });
  });

  describe('Redis engine faults', () => {
    let server: RedisServer;
    let admin: Redis;
    const started: Engine[] = [];

    async function startNode(options: Partial<RedisEngineOptions> = {}): Promise<Node> {
      const engine = createRedisEngine({ host: server.host, port: server.port, prefix: 'herald:', ...options });
      const handler = new RecordingHandler();
      await engine.start(handler);
      started.push(engine);
      return { engine, handler };
    }

    before(async () => {
      server = await startRedisServer();
      admin = new Redis(server.url, { retryStrategy: () => 50 });
      admin.on('error', () => undefined);
    });
    after(async () => {
      for (const engine of started.splice(0)) await engine.close();
      admin.disconnect();
      await server.close();
    });

    const waitReady = (engine: Engine, ready: boolean, timeoutMs = 5000): Promise<true> =>
      waitFor(() => (engine.isReady() === ready ? true : undefined), `isReady() === ${ready}`, timeoutMs);

    it('subscribes in Redis only to keys with local subscribers', async () => {
      const { engine } = await startNode();
      const key = uniqueKey();
      const channel = new RedisKeys('herald:').channel(key);
      const subscribers = async (): Promise<number> => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1];
      assert.equal(await subscribers(), 0);
      await engine.broker.subscribe(key);
      assert.equal(await subscribers(), 1);
      await engine.broker.unsubscribe(key);
      await waitFor(async () => ((await subscribers()) === 0 ? true : undefined), 'the UNSUBSCRIBE');
    });

    it('starts a new epoch after FLUSHALL', async () => {
      const { engine } = await startNode();
      const key = uniqueKey();
      const before = await engine.broker.publish(key, input(key), OPTS);
      await admin.flushall();
      const page = await engine.broker.history(key, {});
      assert.notEqual(page.epoch, before.publication.epoch);
      assert.deepEqual({ offset: page.offset, n: page.publications.length }, { offset: 0, n: 0 });
      const after = await engine.broker.publish(key, input(key), OPTS);
      assert.deepEqual({ offset: after.publication.offset, epoch: after.publication.epoch }, { offset: 1, epoch: page.epoch });
    });

    it('gives a batch item whose key Redis refuses its reply error, and stores the items around it', async () => {
      const { engine } = await startNode();
      const good = uniqueKey();
      const broken = uniqueKey();
      await admin.set(new RedisKeys('herald:').meta(broken), 'not a hash');
      const results = await engine.broker.publishMany([good, broken, good].map((key) => ({ key, input: input(key), options: OPTS })));
      assert.ok('error' in results[1]);
      assert.match(results[1].error.message, /WRONGTYPE/);
      assert.equal(results[1].error instanceof EngineUnavailableError, false);
      assert.deepEqual(results.filter((r) => 'publication' in r).map((r) => 'publication' in r && r.publication.offset), [1, 2]);
      await assert.rejects(engine.broker.publish(broken, input(broken), OPTS), /WRONGTYPE/);
    });

    it('starts a new epoch after a Redis restart', async () => {
      const { engine } = await startNode();
      const key = uniqueKey();
      const before = await engine.broker.publish(key, input(key), OPTS);
      await server.restart();
      await waitReady(engine, true);
      const after = await engine.broker.publish(key, input(key), OPTS);
      assert.notEqual(after.publication.epoch, before.publication.epoch);
      assert.equal(after.publication.offset, 1);
    });

    it('while Redis is down fails fast and is not ready; recovers on its own when it is back', async () => {
      const { engine, handler } = await startNode();
      const key = uniqueKey();
      await engine.broker.subscribe(key);
      await server.stop('SIGKILL');
      await waitReady(engine, false);

      const t0 = Date.now();
      await assert.rejects(engine.broker.publish(key, input(key), OPTS));
      assert.ok(Date.now() - t0 < 3000, `publish took ${Date.now() - t0} ms to fail`);
      await assert.rejects(engine.broker.history(key, {}));
      await assert.rejects(engine.broker.subscribe(uniqueKey()));
      await assert.rejects(engine.presence.join(key, { connectionId: 'c1', userId: 'u1' }));
      await assert.rejects(engine.connections.tenantCount('t1'));

      await server.start();
      await waitReady(engine, true);
      // The subscription made before the outage is back: a publication reaches the handler.
      const published = await engine.broker.publish(key, input(key, 'after'), OPTS);
      const [delivered] = await handler.waitPublications(key, 1);
      assert.deepEqual(delivered, published.publication);
      await engine.broker.publishControl({ kind: 'disconnect', tenant: 'tx', code: 4000, reason: 'back' });
      await waitFor(() => handler.controls.find((c) => c.kind === 'disconnect' && c.reason === 'back'), 'the control command');
      assert.deepEqual(await engine.presence.join(key, { connectionId: 'c1', userId: 'u1' }), { first: true, occupied: true });
    });

    it('start() waits for a Redis that comes up late, and gives up after startTimeoutMs', async () => {
      await server.stop();
      try {
        const early = createRedisEngine({ url: server.url, startTimeoutMs: 300 });
        const t0 = Date.now();
        await assert.rejects(early.start(new RecordingHandler()), /could not connect/);
        assert.ok(Date.now() - t0 < 3000, `start took ${Date.now() - t0} ms to give up`);
        await early.close();

        const patient = createRedisEngine({ url: server.url, startTimeoutMs: 5000 });
        started.push(patient);
        const starting = patient.start(new RecordingHandler());
        await sleep(300);
        await server.start();
        await starting;
        assert.equal(patient.isReady(), true);
      } finally {
        if (!server.running) await server.start();
      }
    });

    it('fails a command within the command timeout when Redis hangs', async () => {
      const { engine } = await startNode({ commandTimeoutMs: 500 });
      const key = uniqueKey();
      server.freeze();
      try {
        const t0 = Date.now();
        await assert.rejects(engine.broker.publish(key, input(key), OPTS));
        assert.ok(Date.now() - t0 < 3000, `publish took ${Date.now() - t0} ms to fail`);
      } finally {
        server.thaw();
      }
      await waitFor(async () => (await engine.broker.history(key, {}).catch(() => undefined)) ?? undefined, 'a working Redis');
    });

    it('keeps a live node’s presence and connections past the TTL, and drops a stopped node’s', async () => {
      const ttl = 800;
      const live = await startNode({ presenceTtlMs: ttl });
      const gone = await startNode({ presenceTtlMs: ttl });
      const key = uniqueKey();
      const tenant = `t-${randomUUID()}`;
      await live.engine.presence.join(key, { connectionId: 'live', userId: 'u1' });
      await live.engine.connections.add(tenant, { connectionId: 'live', userId: 'u1', connectedAt: 1 });
      await gone.engine.presence.join(key, { connectionId: 'gone', userId: 'u2' });
      await gone.engine.connections.add(tenant, { connectionId: 'gone', userId: 'u2', connectedAt: 2 });
      assert.equal(await live.engine.presence.count(key), 2);

      // Closing stops the node's refresh without leaving, as a crash would.
      await gone.engine.close();
      await sleep(ttl * 2.5);
      assert.deepEqual(await live.engine.presence.list(key), [{ userId: 'u1', connections: 1 }]);
      assert.equal(await live.engine.connections.tenantCount(tenant), 1);
    });

    it('reports a lost pub/sub connection, and its return once every key is subscribed again', async () => {
      const events: string[] = [];
      const handler = Object.assign(new RecordingHandler(), {
        onInterrupted: () => events.push('interrupted'),
        onResumed: () => events.push('resumed'),
      });
      const engine = createRedisEngine({ url: server.url, prefix: 'herald:' });
      await engine.start(handler);
      started.push(engine);
      const key = uniqueKey();
      await engine.broker.subscribe(key);
      events.length = 0;
      await server.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await waitFor(() => (events.length === 2 ? true : undefined), 'interrupted, then resumed');
      assert.deepEqual(events, ['interrupted', 'resumed']);
      // Resumed means subscribed: a publication made now arrives.
      const published = await engine.broker.publish(key, input(key), OPTS);
      assert.deepEqual((await handler.waitPublications(key, 1))[0], published.publication);
    });

    it('reports a stopped node’s users and channel members once, to one live node, with their info', async () => {
      const ttl = 600;
      const expired: ExpiredEntry[][] = [[], []];
      const live = await Promise.all(
        expired.map(async (list) => {
          const engine = createRedisEngine({ url: server.url, prefix: 'herald:', presenceTtlMs: ttl });
          await engine.start(Object.assign(new RecordingHandler(), { onExpired: (e: ExpiredEntry) => list.push(e) }));
          started.push(engine);
          return engine;
        }),
      );
      const gone = await startNode({ presenceTtlMs: ttl });
      const key = uniqueKey();
      const tenant = `t-${randomUUID()}`;
      // The live nodes serve the tenant and the channel, so their refreshes look at both.
      for (const [i, engine] of live.entries()) {
        await engine.presence.join(key, { connectionId: `live-${i}`, userId: `watcher-${i}` });
        await engine.connections.add(tenant, { connectionId: `live-${i}`, userId: `watcher-${i}`, connectedAt: 1 });
      }
      await gone.engine.presence.join(key, { connectionId: 'g1', userId: 'gina', info: { name: 'Gina' } });
      await gone.engine.connections.add(tenant, { connectionId: 'g1', userId: 'gina', connectedAt: 2, announce: { userId: 'gina', name: 'Gina' } });
      // A user with a connection left elsewhere has not gone.
      await gone.engine.connections.add(tenant, { connectionId: 'g2', userId: 'watcher-0', connectedAt: 3 });
      await gone.engine.close();
      await waitFor(() => (expired.flat().length >= 2 ? true : undefined), 'the departures reported', 5000);
      await sleep(ttl);
      const all = expired.flat();
      assert.deepEqual(
        all.filter((e) => e.kind === 'user'),
        [{ kind: 'user', tenant, userId: 'gina', announce: { userId: 'gina', name: 'Gina' } }],
      );
      assert.deepEqual(
        all.filter((e) => e.kind === 'presence'),
        [{ kind: 'presence', key, user: { userId: 'gina', connections: 0, info: { name: 'Gina' } } }],
      );
    });

    it('registers a node’s presence and connections again after Redis lost them', async () => {
      const { engine } = await startNode({ presenceTtlMs: 600 });
      const key = uniqueKey();
      const tenant = `t-${randomUUID()}`;
      await engine.presence.join(key, { connectionId: 'c1', userId: 'u1', info: { n: 1 } });
      await engine.connections.add(tenant, { connectionId: 'c1', userId: 'u1', connectedAt: 5 });
      await server.restart();
      await waitReady(engine, true);
      const users = await waitFor(async () => {
        const list = await engine.presence.list(key).catch(() => []);
        return list.length > 0 ? list : undefined;
      }, 'presence re-registered');
      assert.deepEqual(users, [{ userId: 'u1', connections: 1, info: { n: 1 } }]);
      assert.equal(await engine.connections.tenantCount(tenant), 1);
    });

    describe('with a Redis that keeps its data across restarts', () => {
      let durable: RedisServer;

      before(async () => {
        durable = await startRedisServer({ persistent: true });
      });
      after(async () => {
        await durable.close();
      });

      it('still starts a new epoch, so offsets lost in the restart are never reused', async () => {
        const engine = createRedisEngine({ url: durable.url, prefix: 'herald:' });
        await engine.start(new RecordingHandler());
        started.push(engine);
        const key = uniqueKey();
        await engine.broker.publish(key, input(key), OPTS);
        const before = await engine.broker.publish(key, input(key), OPTS);
        await durable.restart();
        await waitReady(engine, true);
        const probe = new Redis(durable.url);
        try {
          assert.equal(await probe.hget(new RedisKeys('herald:').meta(key), 'o'), '2', 'the data survived the restart');
        } finally {
          probe.disconnect();
        }
        const page = await engine.broker.history(key, {});
        assert.notEqual(page.epoch, before.publication.epoch);
        assert.equal(page.offset, 0);
      });
    });
  });
}
