import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, parseConfig } from './load.js';

const DOC = readFileSync(new URL('../../../../docs/pusher.md', import.meta.url), 'utf8');

/** The YAML block under a heading of docs/pusher.md. */
function yamlUnder(heading: string): string {
  const section = DOC.slice(DOC.indexOf(`\n## ${heading}\n`));
  const block = /```yaml\n([\s\S]*?)```/.exec(section);
  assert.ok(block, `docs/pusher.md has a yaml block under "${heading}"`);
  return block[1];
}

function loadYaml(yaml: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-pusher-'));
  const file = join(dir, 'herald.yaml');
  writeFileSync(file, yaml);
  return loadConfig({ file, env }).config;
}

describe('pusher configuration', () => {
  it("reads a Soketi deployment's variables as docs/pusher.md shows, with Soketi's defaults when unset", () => {
    const yaml = yamlUnder('Moving from Soketi');
    const set = loadYaml(yaml, {
      SOKETI_PORT: '6002',
      SOKETI_DEFAULT_APP_ID: 'shop',
      SOKETI_DEFAULT_APP_KEY: 'shop-key',
      SOKETI_DEFAULT_APP_SECRET: 'shop-secret-0123',
      SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true',
      SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SECOND: '20',
    });
    assert.equal(set.server.port, 6002);
    assert.deepEqual(
      set.pusher.apps.map(({ id, key, secret, clientEvents, clientEventRate }) => ({ id, key, secret, clientEvents, clientEventRate })),
      [{ id: 'shop', key: 'shop-key', secret: 'shop-secret-0123', clientEvents: true, clientEventRate: 20 }],
    );
    const unset = loadYaml(yaml, {});
    assert.equal(unset.server.port, 6001);
    assert.deepEqual([unset.pusher.apps[0].id, unset.pusher.apps[0].key, unset.pusher.apps[0].clientEvents], ['app-id', 'app-key', false]);
  });

  it('parses the Configuration section of docs/pusher.md', () => {
    const config = loadYaml(yamlUnder('Configuration'), { PUSHER_APP_SECRET: 'shop-secret-0123' });
    assert.equal(config.pusher.apps[0].tenant, 'shop');
    assert.equal(config.pusher.activityTimeout, 120_000);
    assert.equal(config.pusher.timestampTolerance, 600_000);
  });

  it('refuses two apps with one key or id, a short secret, an app id that is no tenant name, a path ending in /', () => {
    const app = { id: 'a', key: 'k', secret: 'secret-0123' };
    const problem = (pusher: unknown) => {
      try {
        parseConfig({ pusher });
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    };
    assert.match(problem({ apps: [app, { ...app, id: 'b' }] }) ?? '', /another app has key k/);
    assert.match(problem({ apps: [app, { ...app, key: 'k2' }] }) ?? '', /another app has id a/);
    assert.match(problem({ apps: [{ ...app, secret: 'short' }] }) ?? '', /at least 8/);
    assert.match(problem({ apps: [{ ...app, id: 'a b' }] }) ?? '', /app ids are/);
    assert.match(problem({ path: '/app/', apps: [app] }) ?? '', /not end with \//);
    assert.equal(problem({ apps: [app] }), undefined);
  });
});
