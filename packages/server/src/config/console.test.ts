import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEV_CONSOLE_PASSWORD } from './dev-defaults.js';
import { ConfigError } from './interpolate.js';
import { loadConfig, parseConfig } from './load.js';

describe('console configuration', () => {
  it('is on with the dev password in dev mode (no file, not production)', () => {
    const { config } = loadConfig({ env: {} });
    assert.deepEqual([config.console.enabled, config.console.password, config.console.adminRole], [true, DEV_CONSOLE_PASSWORD, 'admin']);
  });

  it('is off in production unless configured, and a configuration file turns it on', () => {
    assert.equal(loadConfig({ env: { NODE_ENV: 'production', JWT_SECRET: 'production-secret' } }).config.console.enabled, false);
    const dir = mkdtempSync(join(tmpdir(), 'herald-console-config-'));
    try {
      const plain = join(dir, 'plain.yaml');
      writeFileSync(plain, 'auth:\n  jwt:\n    secret: s\n');
      assert.equal(loadConfig({ file: plain, env: {} }).config.console.enabled, false, 'a file without a console section leaves it off');
      const on = join(dir, 'on.yaml');
      writeFileSync(on, 'auth:\n  jwt:\n    secret: s\nconsole:\n  enabled: true\n  password: ${CONSOLE_PASSWORD}\n  operatorTenant: ops\n  sessionTtl: 1h\n');
      const { config } = loadConfig({ file: on, env: { NODE_ENV: 'production', CONSOLE_PASSWORD: 'a-long-console-password', API_KEYS: 'production-key-0123' } });
      assert.deepEqual([config.console.enabled, config.console.password, config.console.operatorTenant, config.console.sessionTtl], [true, 'a-long-console-password', 'ops', 3_600_000]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses short passwords and secrets, bad tenants and unknown keys, naming them', () => {
    const bad = (console: unknown) => assert.throws(() => parseConfig({ console }), ConfigError);
    bad({ password: 'short' });
    bad({ secret: 'too-short-for-hs256' });
    bad({ operatorTenant: 'no spaces' });
    bad({ adminRole: '' });
    bad({ sessionTtl: 'forever' });
    assert.throws(() => parseConfig({ console: { pasword: 'typo-typo-typo' } }), /console: unknown key\(s\) "pasword"/);
    assert.throws(() => parseConfig({ console: { password: 'short' } }), /console\.password: the console password must be at least 12 characters/);
  });
});
