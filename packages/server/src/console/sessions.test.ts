import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { consoleSignIn } from '../testing/console-agent.js';
import { startHerald, TEST_API_KEY, type HeraldFixture } from '../testing/herald-fixture.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

const PASSWORD = 'console-password-0123';
const consoleOn = { console: { enabled: true, password: PASSWORD } };

/** A POST to the console's own routes, with or without the console header. */
async function post(herald: HeraldFixture, path: string, body: unknown, headers: Record<string, string> = { 'x-herald-console': '1' }) {
  const response = await fetch(herald.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any, cookie: response.headers.get('set-cookie') };
}

describe('Console sessions', () => {
  describe('POST /console/session', () => {
    it('exchanges the password for an HttpOnly, SameSite=Strict cookie that the session routes accept', async () => {
      await using herald = await startHerald(consoleOn);
      const signIn = await post(herald, '/console/session', { password: PASSWORD });
      assert.equal(signIn.status, 200);
      assert.deepEqual({ ...signIn.body, user: { ...signIn.body.user, expiresAt: 0 } }, {
        user: { name: 'password', via: 'password', expiresAt: 0 },
        operatorTenant: 'default',
        websocket: '/ws',
        audit: null,
      });
      assert.match(signIn.cookie!, /^herald_console=[\w-]+\.[\w-]+\.[\w-]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
      const behindHttps = await post(herald, '/console/session', { password: PASSWORD }, { 'x-herald-console': '1', 'x-forwarded-proto': 'https' });
      assert.match(behindHttps.cookie!, /; HttpOnly; Secure; SameSite=Strict$/);
      const cookie = signIn.cookie!.split(';')[0];
      const session = await fetch(`${herald.url}/console/session`, { headers: { cookie, 'x-herald-console': '1' } });
      assert.equal(session.status, 200);
      assert.equal(((await session.json()) as any).user.name, 'password');
    });

    it('refuses a wrong password with 401 and a request without the console header with 403', async () => {
      await using herald = await startHerald(consoleOn);
      const wrong = await post(herald, '/console/session', { password: 'not-the-password' });
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, { error: { code: 'unauthorized', message: 'wrong password' } });
      assert.equal(wrong.cookie, null);
      const noHeader = await post(herald, '/console/session', { password: PASSWORD }, {});
      assert.equal(noHeader.status, 403);
      assert.equal(noHeader.cookie, null);
      const bad = await post(herald, '/console/session', { password: PASSWORD, extra: 1 });
      assert.equal(bad.status, 400);
    });

    it('signs in an admin token with the admin role, scoped to its tenant unless it is the operator tenant', async () => {
      await using herald = await startHerald({ console: { enabled: true, operatorTenant: 'ops' } });
      const operator = await post(herald, '/console/session', { token: await herald.token({ sub: 'olga', tenant: 'ops', roles: ['admin'] }) });
      assert.equal(operator.status, 200);
      assert.equal(operator.body.user.name, 'olga');
      assert.equal(operator.body.user.tenant, undefined);
      const tenantAdmin = await post(herald, '/console/session', { token: await herald.token({ sub: 'ann', tenant: 'acme', roles: ['viewer', 'admin'] }) });
      assert.equal(tenantAdmin.body.user.tenant, 'acme');
      const shortToken = await post(herald, '/console/session', { token: await herald.token({ sub: 'olga', tenant: 'ops', roles: ['admin'] }, 60) });
      assert.ok(Number(/Max-Age=(\d+)/.exec(shortToken.cookie!)![1]) <= 60, 'the session ends with the token');
      const noPassword = await post(herald, '/console/session', { password: PASSWORD });
      assert.equal(noPassword.status, 401);
      assert.match(noPassword.body.error.message, /password sign-in is not configured/);
    });

    it('refuses a token without the admin role (403), an invalid token (401) and its own link tokens (401)', async () => {
      await using herald = await startHerald({ console: { enabled: true, adminRole: 'ops-admin', password: PASSWORD } });
      const noRole = await post(herald, '/console/session', { token: await herald.token({ sub: 'bob', roles: ['admin'] }) });
      assert.equal(noRole.status, 403);
      assert.equal(noRole.body.error.message, "this token does not carry the console's admin role (ops-admin)");
      assert.equal(noRole.cookie, null);
      const forged = await post(herald, '/console/session', { token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' });
      assert.equal(forged.status, 401);
      const admin = await consoleSignIn(herald.url, { password: PASSWORD });
      const link = await admin.call('POST', '/console/link', {});
      const reuse = await post(herald, '/console/session', { token: link.body.token });
      assert.equal(reuse.status, 401);
    });

    it('answers 429 once failed sign-ins pile up, and still nothing is signed in', async () => {
      await using herald = await startHerald(consoleOn);
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await post(herald, '/console/session', { password: `guess-${i}` })).status);
      assert.equal(statuses[0], 401);
      assert.equal(statuses.at(-1), 429);
    });
  });

  describe('POST /console/session/end', () => {
    it('clears the cookie, and the old cookie no longer opens the console or the API', async () => {
      await using herald = await startHerald(consoleOn);
      const admin = await consoleSignIn(herald.url, { password: PASSWORD });
      assert.equal((await admin.call('GET', '/api/v1/connections')).status, 200);
      const end = await admin.call('POST', '/console/session/end');
      assert.equal(end.status, 200);
      assert.match(end.headers.get('set-cookie')!, /^herald_console=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict$/);
      assert.equal((await admin.call('GET', '/console/session')).status, 401);
      assert.equal((await admin.call('GET', '/api/v1/connections')).status, 401);
    });
  });

  describe('the HTTP API with a console session', () => {
    it('accepts the session where a key is needed, but only with the console header', async () => {
      await using herald = await startHerald(consoleOn);
      const admin = await consoleSignIn(herald.url, { password: PASSWORD });
      const published = await admin.call('POST', '/api/v1/publish', { channel: 'news', event: 'hello' });
      assert.equal(published.status, 200);
      const noHeader = await admin.call('POST', '/api/v1/publish', { channel: 'news', event: 'hello' }, { header: false });
      assert.equal(noHeader.status, 403);
      assert.equal(noHeader.body.error.message, 'console requests carry the header X-Herald-Console: 1');
      const anonymous = await fetch(`${herald.url}/api/v1/connections`, { headers: { 'x-herald-console': '1' } });
      assert.equal(anonymous.status, 401);
      const forgedCookie = await fetch(`${herald.url}/api/v1/connections`, { headers: { 'x-herald-console': '1', cookie: 'herald_console=eyJhbGciOiJIUzI1NiJ9.e30.x' } });
      assert.equal(forgedCookie.status, 401);
    });

    it('keeps a tenant admin inside its tenant, over HTTP', async () => {
      await using herald = await startHerald({ console: { enabled: true } });
      const admin = await consoleSignIn(herald.url, { token: await herald.token({ sub: 'ann', tenant: 'acme', roles: ['admin'] }) });
      const other = await connectClient(herald.wsUrl, await herald.token({ sub: 'zed', tenant: 'globex' }));
      const own = await connectClient(herald.wsUrl, await herald.token({ sub: 'amy', tenant: 'acme' }));
      const refused = [
        await admin.call('GET', '/api/v1/connections?tenant=globex'),
        await admin.call('POST', '/api/v1/users/zed/disconnect', { tenant: 'globex' }),
        await admin.call('POST', '/api/v1/publish', { tenant: 'globex', channel: 'news', event: 'x' }),
        await admin.call('GET', '/api/v1/channels/news/history?tenant=globex'),
        await admin.call('GET', '/api/v1/channels?tenant=globex'),
        await admin.call('GET', '/api/v1/locks?tenant=globex'),
        await admin.call('GET', '/api/v1/config'),
        await admin.call('POST', '/console/link', { tenant: 'globex' }),
      ];
      assert.deepEqual(refused.map((r) => r.status), [403, 403, 403, 403, 403, 403, 403, 403]);
      const listed = await admin.call('GET', '/api/v1/connections');
      assert.deepEqual(listed.body.connections.map((c: any) => `${c.tenant}/${c.userId}`), ['acme/amy']);
      const stats = await admin.call('GET', '/api/v1/stats');
      assert.deepEqual(stats.body.connections.byTenant, { acme: 1 });
      assert.equal(stats.body.figures, undefined, 'node-wide figures are not shown to a tenant admin');
      // zed is still connected: the refused disconnect did nothing.
      own.close();
      const closed = await Promise.race([other.closed, new Promise((r) => setTimeout(() => r('open'), 300))]);
      assert.equal(closed, 'open');
      other.close();
    });
  });

  describe('POST /console/link', () => {
    it("gives a token whose connection holds the admin role and may subscribe to any channel of the tenant", async () => {
      await using herald = await startHerald({
        ...consoleOn,
        channels: { rules: [{ pattern: 'secret', subscribe: { roles: ['operators'] } }] },
      });
      const admin = await consoleSignIn(herald.url, { password: PASSWORD });
      const link = await admin.call('POST', '/console/link', { tenant: 'acme' });
      assert.equal(link.status, 200);
      assert.equal(link.body.tenant, 'acme');
      assert.ok(link.body.token.startsWith('console.'));
      assert.ok(link.body.expiresAt <= Date.now() + 5 * 60_000, 'a link token lives 5 minutes at most');
      const client = await connectClient(herald.wsUrl, link.body.token);
      const connected = client.frames.find((f) => f.type === 'connected');
      assert.equal(connected.userId, 'console:password');
      assert.equal(connected.tenant, 'acme');
      assert.ok((await client.request({ type: 'subscribe', channel: 'secret' })).result);
      const plain = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob', tenant: 'acme' }));
      assert.equal((await plain.request({ type: 'subscribe', channel: 'secret' })).error.code, 'forbidden');
      client.close();
      plain.close();
    });

    it('makes an observer: in no presence, no join or leave, never announced online or offline', async () => {
      await using herald = await startHerald(consoleOn);
      const bob = await connectClient(herald.wsUrl, await herald.token({ sub: 'bob' }));
      await bob.request({ type: 'subscribe', channel: 'room' });
      const admin = await consoleSignIn(herald.url, { password: PASSWORD });
      const observer = await connectClient(herald.wsUrl, (await admin.call('POST', '/console/link', {})).body.token);
      assert.ok((await observer.request({ type: 'subscribe', channel: 'room' })).result);
      const presence = await herald.api('GET', '/api/v1/channels/room/presence');
      assert.deepEqual(presence.body.users.map((u: any) => u.userId), ['bob']);
      observer.close();
      await observer.closed;
      // A publication after the observer came and went: everything bob got before it is in his frames.
      await herald.api('POST', '/api/v1/publish', { channel: 'room', event: 'marker' });
      await bob.next((f) => f.type === 'pub' && f.event === 'marker');
      const seen = bob.frames.filter((f) => JSON.stringify(f).includes('console:'));
      assert.deepEqual(seen, [], 'bob saw nothing of the console');
      bob.close();
    });

    it('is refused without a session, and a tampered link token cannot connect', async () => {
      await using herald = await startHerald(consoleOn);
      const anonymous = await post(herald, '/console/link', {});
      assert.equal(anonymous.status, 401);
      const admin = await consoleSignIn(herald.url, { password: PASSWORD });
      const { token } = (await admin.call('POST', '/console/link', {})).body;
      const tampered = `${token.slice(0, -3)}abc`;
      const client = new TestClient(`${herald.wsUrl}/ws?token=${encodeURIComponent(tampered)}`);
      assert.equal((await client.closed).code, CloseCode.Unauthorized);
      assert.ok(!client.frames.some((f) => f.type === 'connected'));
    });
  });

  describe('OpenAPI', () => {
    it('documents the console routes and the session as a second way to call keyed routes', async () => {
      await using herald = await startHerald(consoleOn);
      const doc = (await herald.api('GET', '/api/openapi.json')).body;
      for (const [path, method] of [['/console/session', 'post'], ['/console/session', 'get'], ['/console/session/end', 'post'], ['/console/link', 'post']]) {
        assert.equal(doc.paths[path]?.[method]?.tags[0], 'console', `${method} ${path}`);
      }
      assert.deepEqual(doc.paths['/api/v1/connections'].get.security, [{ apiKey: [] }, { consoleSession: [] }]);
      assert.deepEqual([doc.components.securitySchemes.consoleSession.in, doc.components.securitySchemes.consoleSession.name], ['cookie', 'herald_console']);
      await using off = await startHerald();
      const plain = (await off.api('GET', '/api/openapi.json')).body;
      assert.equal(plain.paths['/console/session'], undefined);
      assert.deepEqual(plain.paths['/api/v1/connections'].get.security, [{ apiKey: [] }]);
    });
  });

  describe('serving the console', () => {
    it('serves the built files at /console/, redirects /console, and GET / points there', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'herald-console-'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
      writeFileSync(join(dir, 'app.js'), 'export {};');
      writeFileSync(join(dir, 'notes.txt'), 'not a type the console serves');
      try {
        await using herald = await startHerald({ console: { enabled: true, assets: dir } });
        const page = await fetch(`${herald.url}/console/`);
        assert.equal(page.status, 200);
        assert.match(page.headers.get('content-type')!, /text\/html/);
        assert.equal(await page.text(), '<!doctype html><title>console</title>');
        const script = await fetch(`${herald.url}/console/app.js`);
        assert.deepEqual([script.status, script.headers.get('content-type'), await script.text()], [200, 'text/javascript; charset=utf-8', 'export {};']);
        for (const path of ['/console/nothing.js', '/console/notes.txt', '/console/%2e%2e%2fpackage.json', '/console/..%2F..%2Fpackage.json', '/console/sub/index.html']) {
          const missing = await fetch(herald.url + path);
          assert.equal(missing.status, 404, path);
          assert.deepEqual(await missing.json(), { error: { code: 'not_found', message: 'no such file in the console' } });
        }
        const bare = await fetch(`${herald.url}/console`, { redirect: 'manual' });
        assert.equal(bare.status, 302);
        assert.equal(bare.headers.get('location'), '/console/');
        assert.equal((await herald.api('GET', '/')).body.console, '/console/');
        const html = await (await fetch(`${herald.url}/`, { headers: { accept: 'text/html' } })).text();
        assert.match(html, /<a href="\/console\/">http:\/\/127\.0\.0\.1:\d+\/console\/<\/a>/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('answers 503 when the console is not built, and nothing at all when it is off', async () => {
      await using built = await startHerald({ console: { enabled: true, assets: join(tmpdir(), 'no-such-console-build') } });
      const missing = await fetch(`${built.url}/console/`);
      assert.equal(missing.status, 503);
      await using off = await startHerald();
      assert.equal((await fetch(`${off.url}/console/`)).status, 404);
      assert.equal((await post(off, '/console/session', { password: PASSWORD })).status, 404);
      assert.equal((await off.api('GET', '/')).body.console, null);
      const stillKeyed = await fetch(`${off.url}/api/v1/connections`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
      assert.equal(stillKeyed.status, 200);
    });
  });
});
