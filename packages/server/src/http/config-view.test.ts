import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHerald, TEST_API_KEY, TEST_SECRET } from '../testing/herald-fixture.js';
import { REDACTED, redactConfig } from './config-view.js';

describe('HTTP configuration', () => {
  it('GET /api/v1/config answers the loaded configuration with every secret redacted', async () => {
    await using herald = await startHerald({ console: { enabled: true, password: 'console-password-0123', secret: 'a-console-secret-of-32-characters!!' } });
    const { status, body } = await herald.api('GET', '/api/v1/config');
    assert.equal(status, 200);
    assert.equal(body.auth.jwt.secret, REDACTED);
    assert.deepEqual(body.api.keys, [{ key: REDACTED, name: 'test' }]);
    assert.equal(body.console.password, REDACTED);
    assert.equal(body.console.secret, REDACTED);
    assert.equal(body.console.adminRole, 'admin');
    assert.equal(body.limits.connectionsPerUser, 5, 'defaults are filled in');
    const text = JSON.stringify(body);
    for (const secret of [TEST_SECRET, TEST_API_KEY, 'console-password-0123']) assert.ok(!text.includes(secret), `${secret} leaked`);
  });

  it('refuses a tenant-bound key with 403: the configuration is the whole gateway', async () => {
    await using herald = await startHerald({ api: { keys: [{ key: TEST_API_KEY, tenant: 'a' }] } });
    const { status, body } = await herald.api('GET', '/api/v1/config');
    assert.equal(status, 403);
    assert.equal(body.error.code, 'forbidden');
  });

  it('redacts credentials in URLs and secret-looking keys of sections it does not know', () => {
    assert.deepEqual(
      redactConfig({ engine: { redis: { url: 'redis://user:hunter2@cache:6379/0', password: 'x' } }, webhooks: [{ url: 'https://hooks.example.com/x', signingSecret: 'whsec_1', enabled: true }] }),
      { engine: { redis: { url: `redis://${REDACTED}@cache:6379/0`, password: REDACTED } }, webhooks: [{ url: 'https://hooks.example.com/x', signingSecret: REDACTED, enabled: true }] },
    );
  });
});
