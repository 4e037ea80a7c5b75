import { REDIS_CLI_BIN, redisClusterAvailable } from './redis-cluster.js';
import { describeRequiringRedis } from './describe-with-redis.js';
import { REDIS_SERVER_BIN } from './redis-server.js';

/**
 * A `describe` for tests that start a local Redis Cluster or Sentinel group (redis-server and
 * redis-cli): without them it is skipped, loudly, or in CI (`CI=true`) fails, as describeWithRedis does.
 */
export function describeWithRedisCluster(name: string, body: () => void): void {
  const missing = `redis-server or redis-cli not found (${REDIS_SERVER_BIN}, ${REDIS_CLI_BIN}; set REDIS_SERVER / REDIS_CLI or install redis-server)`;
  describeRequiringRedis(name, redisClusterAvailable() ? undefined : missing, body);
}
