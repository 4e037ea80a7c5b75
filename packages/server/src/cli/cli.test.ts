import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { jwtVerify } from 'jose';
import { DEV_JWT_SECRET } from '../config/dev-defaults.js';
import { TestClient } from '../testing/ws-client.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const ENV = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn' };

function run(args: string[], env: Record<string, string | undefined> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { env: { ...ENV, ...env }, encoding: 'utf8', timeout: 15_000 });
}

/** Starts `herald serve` on a free port; resolves with the process and its URL once it prints it. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env: { ...ENV, PORT: '0', HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout!.resume();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 10_000);
    child.stderr!.on('data', (chunk) => {
      err += chunk;
      const m = /Herald listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

describe('herald CLI', () => {
  it('prints help for every command', () => {
    for (const args of [['--help'], ['serve', '--help'], ['token', '--help'], ['publish', '--help']]) {
      const r = run(args);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Usage: herald/);
    }
  });

  it('fails with a usage message on an unknown command or option', () => {
    const unknown = run(['frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const badOption = run(['token', '--nope']);
    assert.equal(badOption.status, 2);
    assert.match(badOption.stderr, /--nope/);
  });

  it('mints a token with the configured secret and claims', async () => {
    const r = run(['token', '--sub', 'op-7', '--tenant', 'acme', '--roles', 'operator,director', '--name', 'Olga', '--ttl', '10m'], { JWT_SECRET: 'cli-secret' });
    assert.equal(r.status, 0, r.stderr);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode('cli-secret'));
    assert.equal(payload.sub, 'op-7');
    assert.equal(payload.tenant, 'acme');
    assert.deepEqual(payload.roles, ['operator', 'director']);
    assert.equal(payload.name, 'Olga');
    assert.ok(payload.exp! - payload.iat! === 600);
  });

  it('mints a token for a profile from its auth section alone, with its claim names, without the API key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    const path = join(dir, 'profile.yaml');
    writeFileSync(
      path,
      [
        'auth:',
        '  jwt: { secret: "${JWT_SECRET}" }',
        '  claims: { userId: uid, tenant: tenantId, roles: realm.roles, info: [profile.name, email] }',
        'tenants: { requireClaim: true }',
        'api:',
        '  keys: [{ key: "${WEBHOOK_TOKEN}" }]',
      ].join('\n'),
    );
    const r = run(['token', '--config', path, '--sub', 'u1', '--tenant', 'acme', '--roles', 'ADMIN', '--name', 'Anna', '--claim', 'email=a@example.com', '--claim', 'level=3'], { JWT_SECRET: 'profile-secret' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'nothing to warn about');
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode('profile-secret'));
    assert.deepEqual(
      { uid: payload.uid, tenantId: payload.tenantId, realm: payload.realm, profile: payload.profile, email: payload.email, level: payload.level },
      { uid: 'u1', tenantId: 'acme', realm: { roles: ['ADMIN'] }, profile: { name: 'Anna' }, email: 'a@example.com', level: 3 },
    );
    assert.equal(payload.sub, undefined);
    assert.equal(payload.tenant, undefined);

    const noTenant = run(['token', '--config', path, '--sub', 'u1'], { JWT_SECRET: 'profile-secret' });
    assert.equal(noTenant.status, 0, noTenant.stderr);
    assert.match(noTenant.stderr, /refuses tokens without a tenant claim \(tenantId\): pass --tenant/);
    const noSecret = run(['token', '--config', path, '--sub', 'u1', '--tenant', 'acme'], { WEBHOOK_TOKEN: 'webhook-token' });
    assert.equal(noSecret.status, 2);
    assert.equal(noSecret.stdout, '');
    assert.match(noSecret.stderr, /^herald: auth\.jwt\.secret: environment variable JWT_SECRET is not set\. Set it to the value "herald serve" runs with/);
  });

  it('signs with the dev secret only where the gateway would, and says so', async () => {
    const dev = run(['token', '--sub', 'alice']);
    assert.equal(dev.status, 0, dev.stderr);
    assert.match(dev.stderr, /signed with the dev JWT secret/);
    await jwtVerify(dev.stdout.trim(), new TextEncoder().encode(DEV_JWT_SECRET));

    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    const noKey = join(dir, 'no-key.yaml');
    writeFileSync(noKey, 'auth:\n  claims: { tenant: household }\n');
    const fromFile = run(['token', '--config', noKey, '--sub', 'bob', '--tenant', 'h1']);
    assert.equal(fromFile.status, 0, fromFile.stderr);
    assert.match(fromFile.stderr, /signed with the dev JWT secret/);
    const { payload } = await jwtVerify(fromFile.stdout.trim(), new TextEncoder().encode(DEV_JWT_SECRET));
    assert.equal(payload.household, 'h1');
    const production = run(['token', '--config', noKey, '--sub', 'bob'], { NODE_ENV: 'production' });
    assert.equal(production.status, 2);
    assert.match(production.stderr, /no JWT key: set JWT_SECRET/);

    const withSecret = run(['token', '--sub', 'alice'], { JWT_SECRET: 'cli-secret' });
    assert.equal(withSecret.stderr, '');
    const publicKey = join(dir, 'jwks.yaml');
    writeFileSync(publicKey, 'auth:\n  jwt: { jwksUrl: "https://id.example.com/.well-known/jwks.json" }\n');
    const idp = run(['token', '--config', publicKey, '--sub', 'alice']);
    assert.equal(idp.status, 2);
    assert.match(idp.stderr, /^herald: .* verifies tokens with a JWKS URL: tokens for it are signed by your identity provider/);
  });

  it('requires --sub for a token', () => {
    const r = run(['token']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--sub is required/);
  });

  it('stops at start-up with a message naming a bad config key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'limits:\n  connectionsPerUsr: 3\n');
    const r = run(['serve', '--config', path]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /limits: unknown key\(s\) "connectionsPerUsr"/);
  });

  it('stops with one line naming the address when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const r = run(['serve'], { PORT: String(port), HOST: '127.0.0.1' });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, `herald: cannot listen on 127.0.0.1:${port}: the port is already in use. Stop what runs there or set PORT (server.port) to a free port.\n`);
    } finally {
      taken.close();
    }
  });

  it('serves with dev defaults, publishes through the API, and shuts down gracefully on SIGTERM', async () => {
    const { child, url, stderr } = await serve([]);
    try {
      assert.match(stderr(), /Dev API key: herald-dev-api-key/);
      assert.match(stderr(), /npx herald token --sub/);
      const consoleUrl = /Console +(http:\/\/\S+\/console\/)/.exec(stderr())?.[1];
      assert.equal(consoleUrl, `${url}/console/`, 'the banner prints the console URL');
      assert.match(stderr(), /Console password: herald-dev-console/);
      const page = await fetch(consoleUrl!);
      assert.deepEqual([page.status, (await page.text()).includes('<script type="module" src="console.js">')], [200, true]);
      const token = run(['token', '--sub', 'alice']).stdout.trim();
      const client = new TestClient(`${url.replace('http', 'ws')}/ws?token=${token}`);
      await client.opened();
      await client.next((f) => f.type === 'connected');
      const reply = await client.request({ type: 'subscribe', channel: 'news' });
      assert.ok(reply.result);
      const published = run(['publish', 'news', 'hello', '{"text":"hi"}', '--url', url]);
      assert.equal(published.status, 0, published.stderr);
      assert.match(published.stdout, /"offset":1/);
      const pub = await client.next((f) => f.type === 'pub' && f.channel === 'news');
      assert.deepEqual(pub.data, { text: 'hi' });

      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      const closed = await client.closed;
      assert.equal(closed.code, 1012);
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports an unreachable gateway and invalid JSON on publish', () => {
    const bad = run(['publish', 'news', 'hello', '{nope', '--url', 'http://127.0.0.1:1', '--key', 'k-12345678']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /is not valid JSON/);
    const down = run(['publish', 'news', 'hello', '--url', 'http://127.0.0.1:1', '--key', 'k-12345678']);
    assert.equal(down.status, 2);
    assert.match(down.stderr, /cannot reach/);
  });
});
