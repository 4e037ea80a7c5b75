import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SERVER = join(ROOT, 'packages/server');
const bin = (JSON.parse(readFileSync(join(SERVER, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.herald;

describe('the herald binary', () => {
  it('is a committed file, so npm links it before the build has run', () => {
    const target = resolve(SERVER, bin);
    assert.ok(existsSync(target), `${bin} is missing`);
    assert.ok(!target.includes('/dist/'), `${bin} is built output: npm ci links binaries before "prepare" builds it`);
    const git = spawnSync('git', ['ls-files', '--error-unmatch', target], { cwd: ROOT, encoding: 'utf8' });
    if (git.error) return; // not a git checkout (e.g. an unpacked tarball): the path checks above still hold
    assert.equal(git.status, 0, `${bin} is not committed: ${git.stderr}`);
  });

  it('is linked as node_modules/.bin/herald and runs the built CLI', () => {
    const link = join(ROOT, 'node_modules/.bin/herald');
    assert.ok(existsSync(link), 'node_modules/.bin/herald is missing: npm did not link the binary');
    assert.equal(realpathSync(link), realpathSync(resolve(SERVER, bin)));
    const r = spawnSync(link, ['--help'], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: herald <command>/);
  });

  it('names a build that rebuilds a deleted dist/: every package keeps its build info inside its outDir', () => {
    for (const pkg of readdirSync(join(ROOT, 'packages'))) {
      const tsconfig = join(ROOT, 'packages', pkg, 'tsconfig.json');
      if (!existsSync(tsconfig)) continue;
      const { compilerOptions } = JSON.parse(readFileSync(tsconfig, 'utf8')) as { compilerOptions: { outDir: string; tsBuildInfoFile?: string } };
      // Outside it, `tsc -b` finds the build info after `rm -rf dist` and builds nothing.
      assert.ok(compilerOptions.tsBuildInfoFile?.startsWith(`${compilerOptions.outDir}/`), `packages/${pkg}/tsconfig.json: tsBuildInfoFile outside ${compilerOptions.outDir}/`);
    }
  });

  it('says how to build when dist/ is missing', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'herald-bin-'));
    mkdirSync(join(pkg, 'bin'));
    copyFileSync(resolve(SERVER, bin), join(pkg, 'bin/herald.js'));
    copyFileSync(join(SERVER, 'package.json'), join(pkg, 'package.json'));
    const r = spawnSync(process.execPath, [join(pkg, 'bin/herald.js'), '--help'], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /the CLI is not built yet .*dist\/cli\.js is missing/);
    assert.match(r.stderr, /npm run build/);
  });
});
