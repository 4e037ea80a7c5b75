import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { describeWithRedis } from '../testing/describe-with-redis.js';
import { startRedisServer, type RedisServer } from '../testing/redis-server.js';
import { createMemoryEngine } from './memory.js';
import { createRedisEngine } from './redis.js';
import { runStreamStoreSuite } from './stream-store.case.js';

runStreamStoreSuite('memory', () => createMemoryEngine());

describeWithRedis('StreamStore on Redis', () => {
  let server: RedisServer;
  const prefix = `herald-test-${randomUUID().slice(0, 8)}:`;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server.close();
  });
  runStreamStoreSuite('redis', () => createRedisEngine({ url: server.url, prefix }));
});
