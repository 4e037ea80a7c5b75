import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDIS_CLI_BIN, redisClusterAvailable } from './redis-cluster.js';
import { REDIS_SERVER_BIN } from './redis-server.js';

/**
 * A `describe` for tests that start a local Redis Cluster or Sentinel group (redis-server and
 * redis-cli): without them it is skipped, loudly, or in CI (`CI=true`) fails, as describeWithRedis does.
 */
export function describeWithRedisCluster(name: string, body: () => void): void {
  if (redisClusterAvailable()) {
    void describe(name, body);
    return;
  }
  const message = `redis-server or redis-cli not found (${REDIS_SERVER_BIN}, ${REDIS_CLI_BIN}; set REDIS_SERVER / REDIS_CLI or install redis-server)`;
  if (process.env.CI === 'true') {
    void describe(name, () => {
      it('has redis-server and redis-cli to test against', () => assert.fail(message));
    });
    return;
  }
  console.warn(`\n!!! SKIPPING ${name}: ${message}. With CI=true this fails.\n`);
  void describe(name, { skip: message }, () => undefined);
}
