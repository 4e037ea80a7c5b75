import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const require = createRequire(import.meta.url);
const semver = require('semver') as { subset(sub: string, sup: string): boolean; validRange(range: string): string | null };

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
}

const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const rootEngines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

describe('dependencies and the Node versions Herald declares', () => {
  it(`every locked package runs on every Node the root engines allow (${rootEngines})`, () => {
    assert.ok(semver.validRange(rootEngines), `root engines.node "${rootEngines}" is not a range`);
    const tooNew: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || Array.isArray(entry.engines) || !entry.engines?.node) continue;
      if (!semver.subset(rootEngines, entry.engines.node)) tooNew.push(`${path}@${entry.version}: engines.node "${entry.engines.node}"`);
    }
    assert.deepEqual(tooNew, [], `these need a newer Node than "${rootEngines}" (see "npm ls <name>", then an "overrides" entry or another version of the dependant)`);
  });

  it('fastify.inject (light-my-request) sends cookies with the cookie version it is pinned to', async () => {
    const app = Fastify();
    app.get('/echo', async (request) => ({ cookie: request.headers.cookie ?? null }));
    try {
      const response = await app.inject({ method: 'GET', url: '/echo', cookies: { session: 'a b;c', plain: 'v1' } });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.json(), { cookie: 'session=a%20b%3Bc; plain=v1' });
      const withPath = await app.inject({ method: 'GET', url: '/echo', cookies: [{ name: 'scoped', value: 'x', path: '/elsewhere' }, { name: 'kept', value: 'y', path: '/echo' }] });
      assert.deepEqual(withPath.json(), { cookie: 'kept=y' });
    } finally {
      await app.close();
    }
  });

  it("light-my-request's own tests pass against the installed cookie", () => {
    const dir = join(ROOT, 'node_modules/light-my-request/test');
    if (!existsSync(dir)) return void console.warn('light-my-request ships no tests: nothing to run');
    // The files whose requires are only Node built-ins and the package itself (the others need its devDependencies).
    const runnable = readdirSync(dir)
      .filter((name) => name.endsWith('.test.js'))
      .filter((name) => {
        const requires = [...readFileSync(join(dir, name), 'utf8').matchAll(/require\('([^']+)'\)/g)].map((m) => m[1]);
        return requires.every((r) => r.startsWith('../') || r.startsWith('node:') || builtinModules.includes(r));
      });
    assert.ok(runnable.length > 0, 'no runnable light-my-request test file');
    // Without NODE_TEST_CONTEXT the child reports on its own stdout instead of to this runner.
    const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...runnable.map((name) => join(dir, name))], { encoding: 'utf8', env, timeout: 60_000 });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /# pass [1-9]/);
    assert.match(run.stdout, /# fail 0/);
  });
});
