import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDIS_SERVER_BIN, redisServerAvailable } from './redis-server.js';

/**
 * A `describe` for tests that need redis-server: without the binary it is skipped, loudly, or in
 * CI (`CI=true`) fails, as the Redis engine tests do.
 */
export function describeWithRedis(name: string, body: () => void): void {
  describeRequiringRedis(name, redisServerAvailable() ? undefined : `redis-server not found at ${REDIS_SERVER_BIN} (set REDIS_SERVER or install redis-server)`, body);
}

/** describeWithRedis for any Redis binary: `message` says what is missing, undefined when nothing is. */
export function describeRequiringRedis(name: string, message: string | undefined, body: () => void): void {
  if (message === undefined) {
    void describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    void describe(name, () => {
      it('has a redis-server to test against', () => assert.fail(message));
    });
    return;
  }
  console.warn(`\n!!! SKIPPING ${name}: ${message}. With CI=true this fails.\n`);
  void describe(name, { skip: message }, () => undefined);
}
