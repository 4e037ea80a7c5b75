import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEV_API_KEY, DEV_JWT_SECRET } from './dev-defaults.js';
import { ConfigError } from './interpolate.js';
import { loadConfig } from './load.js';

function file(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('runs with dev defaults and says so when nothing is configured', () => {
    const { config, dev, source } = loadConfig({ env: {} });
    assert.equal(dev, true);
    assert.equal(source, 'dev defaults');
    assert.equal(config.server.port, 5009);
    assert.equal(config.auth.jwt.secret, DEV_JWT_SECRET);
    assert.deepEqual(config.api.keys.map((k) => k.key), [DEV_API_KEY]);
    assert.equal(config.heartbeat.interval, 30_000);
    assert.equal(config.heartbeat.timeout, 10_000);
    assert.equal(config.limits.connectionsPerUser, 5);
  });

  it('refuses to start in production without a JWT key', () => {
    assert.throws(() => loadConfig({ env: { NODE_ENV: 'production' } }), /no JWT key/);
  });

  it('applies the seeds\' environment variables', () => {
    const { config, dev } = loadConfig({
      env: {
        PORT: '6001',
        HOST: '127.0.0.1',
        JWT_SECRET: 's3cret',
        WEBHOOK_TOKEN: 'webhook-token-123',
        API_KEYS: 'key-aaaaaaaa,key-bbbbbbbb',
        CORS_ORIGIN: 'http://localhost:3000',
        REDIS_HOST: 'redis',
        REDIS_PORT: '6380',
        REDIS_PASSWORD: 'pw',
        LOG_LEVEL: 'warn',
      },
    });
    assert.equal(dev, false);
    assert.equal(config.server.port, 6001);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.auth.jwt.secret, 's3cret');
    assert.deepEqual(config.api.keys.map((k) => k.key), ['webhook-token-123', 'key-aaaaaaaa', 'key-bbbbbbbb']);
    assert.deepEqual(config.server.corsOrigins, ['http://localhost:3000']);
    assert.equal(config.engine.type, 'redis');
    assert.deepEqual([config.engine.redis.host, config.engine.redis.port, config.engine.redis.password], ['redis', 6380, 'pw']);
    assert.equal(config.log.level, 'warn');
  });

  it('reads YAML with ${VAR} interpolation and durations', () => {
    const path = file(
      'herald.yaml',
      [
        'server:',
        '  port: ${HERALD_PORT:-7001}',
        'auth:',
        '  jwt:',
        '    secret: ${SECRET}',
        'heartbeat:',
        '  interval: 15s',
        'channels:',
        '  rules:',
        '    - pattern: "city:*"',
        '      history: { size: 10, ttl: 2m }',
        'engine:',
        '  redis: { presenceTtl: 45s, commandTimeout: 500ms }',
      ].join('\n'),
    );
    const { config } = loadConfig({ file: path, env: { SECRET: 'from-env' } });
    assert.equal(config.server.port, 7001);
    assert.equal(config.auth.jwt.secret, 'from-env');
    assert.equal(config.heartbeat.interval, 15_000);
    assert.equal(config.channels.rules[0].history.ttl, 120_000);
    assert.deepEqual([config.engine.redis.presenceTtl, config.engine.redis.commandTimeout], [45_000, 500]);
  });

  it('reads JSON', () => {
    const path = file('herald.json', JSON.stringify({ server: { port: 7002 }, auth: { jwt: { secret: 'x' } } }));
    assert.equal(loadConfig({ file: path, env: {} }).config.server.port, 7002);
  });

  it('names an unset variable and where it is used', () => {
    const path = file('herald.yaml', 'auth:\n  jwt:\n    secret: ${MISSING_SECRET}\n');
    assert.throws(() => loadConfig({ file: path, env: {} }), (err: Error) => err instanceof ConfigError && /auth\.jwt\.secret: environment variable MISSING_SECRET is not set/.test(err.message));
  });

  it('names an unknown key', () => {
    const path = file('herald.yaml', 'server:\n  prot: 5009\n');
    assert.throws(() => loadConfig({ file: path, env: {} }), /server: unknown key\(s\) "prot"/);
  });

  it('names a bad value', () => {
    const path = file('herald.yaml', 'heartbeat:\n  interval: soon\nlimits:\n  connectionsPerUser: -1\n');
    assert.throws(() => loadConfig({ file: path, env: {} }), (err: Error) => /heartbeat\.interval: "soon" is not a duration/.test(err.message) && /limits\.connectionsPerUser/.test(err.message));
  });

  it("validates a route's missedPings", () => {
    const route = (missed: string) => file('routes.yaml', `routes:\n  - path: /stream\n    channel: tasks\n    missedPings: ${missed}\n`);
    assert.equal(loadConfig({ file: route('2'), env: {} }).config.routes[0].missedPings, 2);
    assert.equal(loadConfig({ file: file('r.yaml', 'routes:\n  - path: /stream\n'), env: {} }).config.routes[0].missedPings, undefined);
    assert.throws(() => loadConfig({ file: route('0'), env: {} }), /routes\.0\.missedPings: at least 1: the connection ends after that many unanswered pings in a row/);
    assert.throws(() => loadConfig({ file: route('1.5'), env: {} }), /routes\.0\.missedPings: expected a whole number of pings, 1 to 10/);
    assert.throws(() => loadConfig({ file: route('two'), env: {} }), /routes\.0\.missedPings: expected a whole number of pings, 1 to 10/);
  });

  it("validates a lock rule's announcement", () => {
    const rule = (announce: string) => file('locks.yaml', `channels:\n  rules:\n    - pattern: tasks\n      locks:\n        ttl: 2m\n        announce: ${announce}\n`);
    const { config } = loadConfig({ file: rule("{ events: { refreshed: LOCK_REFRESHED }, data: { entity_id: '{name}', revision: '{last.revision}' } }"), env: {} });
    assert.deepEqual(config.channels.rules[0].locks, { ttl: 120_000, announce: { events: { refreshed: 'LOCK_REFRESHED' }, data: { entity_id: '{name}', revision: '{last.revision}' } } });
    assert.throws(() => loadConfig({ file: rule("{ events: {}, data: { who: '{holder}' } }"), env: {} }), /channels\.rules\.0\.locks\.announce\.data: unknown placeholder\(s\) \{holder\}: use \{name\}, .*\{last\.FIELD\}/);
    assert.throws(() => loadConfig({ file: rule("{ events: { taken: X } }"), env: {} }), /locks\.announce\.events: unknown key\(s\) "taken"/);
    assert.throws(() => loadConfig({ file: rule("{ events: { acquired: '' } }"), env: {} }), /locks\.announce\.events\.acquired: /);
  });

  it('rejects a bad PORT variable with its name', () => {
    assert.throws(() => loadConfig({ env: { PORT: 'http' } }), /PORT: "http" is not a port number/);
  });

  it('rejects more than one JWT key kind', () => {
    const path = file('herald.yaml', 'auth:\n  jwt:\n    secret: a\n    jwksUrl: https://example.test/jwks\n');
    assert.throws(() => loadConfig({ file: path, env: {} }), /set only one of secret, publicKey, jwksUrl/);
  });

  it('reports unreadable and malformed files', () => {
    assert.throws(() => loadConfig({ file: '/nonexistent/herald.yaml', env: {} }), /cannot read config file/);
    assert.throws(() => loadConfig({ file: file('bad.json', '{nope'), env: {} }), /is not valid JSON/);
    assert.throws(() => loadConfig({ file: file('bad.yaml', 'a: [1, 2'), env: {} }), /is not valid YAML/);
    assert.throws(() => loadConfig({ file: file('list.yaml', '- 1\n- 2\n'), env: {} }), /must be a mapping/);
  });

  it('validates tenant names', () => {
    const path = file('herald.yaml', 'tenants:\n  default: "bad tenant"\n');
    assert.throws(() => loadConfig({ file: path, env: {} }), /tenants\.default: tenant names are/);
  });
});

describe('interpolation types', () => {
  it('keeps a numeric-looking secret a string', () => {
    const path = file('herald.yaml', 'auth:\n  jwt:\n    secret: ${NUM_SECRET}\n');
    assert.equal(loadConfig({ file: path, env: { NUM_SECRET: '123456' } }).config.auth.jwt.secret, '123456');
  });
});
