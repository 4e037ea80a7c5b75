import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './load.js';

const secret = { JWT_SECRET: 's3cret' };

describe('engine.redis: Cluster, Sentinel and WAIT', () => {
  it('reads the cluster nodes from REDIS_CLUSTER_NODES and selects the Redis engine', () => {
    const { config } = loadConfig({ env: { ...secret, REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7000,[::1]:7001' } });
    assert.equal(config.engine.type, 'redis');
    assert.deepEqual(config.engine.redis.cluster, ['10.0.0.1:7000', '10.0.0.2:7000', '[::1]:7001']);
  });

  it('reads sentinels, the master name and the sentinel password from the environment', () => {
    const { config } = loadConfig({
      env: { ...secret, REDIS_SENTINELS: 's1:26379,s2:26379,s3:26379', REDIS_MASTER_NAME: 'herald', REDIS_SENTINEL_PASSWORD: 'sentinel-pw' },
    });
    assert.equal(config.engine.type, 'redis');
    assert.deepEqual(config.engine.redis.sentinels, ['s1:26379', 's2:26379', 's3:26379']);
    assert.equal(config.engine.redis.masterName, 'herald');
    assert.equal(config.engine.redis.sentinelPassword, 'sentinel-pw');
  });

  it('reads waitReplicas from REDIS_WAIT_REPLICAS and waitTimeout as a duration; none by default', () => {
    assert.deepEqual([loadConfig({ env: secret }).config.engine.redis.waitReplicas, loadConfig({ env: secret }).config.engine.redis.waitTimeout], [0, 500]);
    const { config } = loadConfig({ env: { ...secret, REDIS_WAIT_REPLICAS: '1' } });
    assert.equal(config.engine.redis.waitReplicas, 1);
    assert.throws(() => loadConfig({ env: { ...secret, REDIS_WAIT_REPLICAS: 'one' } }), /REDIS_WAIT_REPLICAS: "one" is not a whole number/);
  });

  it('refuses sentinels without a master name, and a cluster with sentinels, saying why', () => {
    assert.throws(() => loadConfig({ env: { ...secret, REDIS_SENTINELS: 's1:26379' } }), /masterName.*sentinels need masterName/s);
    assert.throws(() => loadConfig({ env: { ...secret, REDIS_SENTINELS: 's1:26379', REDIS_MASTER_NAME: 'm', REDIS_CLUSTER_NODES: 'n1:7000' } }), /cluster and sentinels cannot both be set/);
  });

  it('refuses a waitTimeout the command timeout would cut short', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
    try {
      const file = join(dir, 'herald.json');
      writeFileSync(file, JSON.stringify({ auth: { jwt: { secret: 'x' } }, engine: { type: 'redis', redis: { waitReplicas: 1, waitTimeout: '1500ms' } } }));
      assert.throws(() => loadConfig({ file, env: {} }), /waitTimeout \(1500 ms\) must be shorter than commandTimeout \(1000 ms\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a node that is not host:port', () => {
    assert.throws(() => loadConfig({ env: { ...secret, REDIS_CLUSTER_NODES: 'redis://n1:7000' } }), /expected host:port/);
  });
});
