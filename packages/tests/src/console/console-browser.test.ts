import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { connectClient } from '@herald/server/testing';
import { describeInChromium } from '../support/browser.js';
import { CONSOLE_PASSWORD, consoleSuite, signInToConsole } from '../support/console.js';

const LOCK_RULES = {
  rules: [
    { pattern: 'doc:*', subscribe: 'all' as const, locks: { ttl: '1m' } },
    { pattern: '*', subscribe: 'all' as const, publish: 'all' as const, history: { size: 100, ttl: '5m' }, presence: true },
  ],
};

describeInChromium('The web console in Chromium', () => {
  const suite = consoleSuite();
  const herald = suite.herald;

  it('signs in with the password, shows the live link green, and signs out', async () => {
    await using gateway = await herald();
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page, context } = admin;
    await page.locator('[data-link-status=connected][data-color=green]').waitFor();
    const [cookie] = await context.cookies();
    assert.deepEqual([cookie.name, cookie.httpOnly, cookie.sameSite], ['herald_console', true, 'Strict']);
    assert.equal(await page.evaluate('document.cookie'), '', 'the page script cannot read the session cookie');
    assert.equal(await page.locator('[data-user]').textContent(), 'operator (password) · every tenant');
    await page.click('[data-action=sign-out]');
    await page.waitForSelector('[data-page=sign-in]');
    await page.reload();
    await page.waitForSelector('[data-page=sign-in]');
  });

  it('goes back to the sign-in page when the session ends elsewhere', async () => {
    await using gateway = await herald();
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    await admin.go('connections');
    // As another tab of the same browser would: the cookie goes along and the session ends.
    assert.equal(await page.evaluate("fetch('/console/session/end', { method: 'POST', headers: { 'x-herald-console': '1' } }).then((r) => r.status)"), 200);
    await page.waitForSelector('[data-page=sign-in]');
    await page.locator('[data-link-status]').waitFor({ state: 'detached' });
  });

  it('refuses a token without the admin role and a wrong password, and keeps no cookie', async () => {
    await using gateway = await herald();
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${gateway.url}/console/`);
    await page.check('input[value=token]');
    await page.fill('textarea[name=token]', await gateway.token({ sub: 'bob', roles: ['operator'] }));
    await page.click('button[type=submit]');
    assert.equal(await page.locator('[data-error]').textContent(), "this token does not carry the console's admin role (admin)");
    await page.check('input[value=password]');
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('button[type=submit]');
    await page.locator('[data-error]', { hasText: 'wrong password' }).waitFor();
    assert.deepEqual(await context.cookies(), []);
    await context.close();
  });

  it('shows a connection when a client connects and drops it when the client leaves', async () => {
    await using gateway = await herald();
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    await admin.go('connections');
    const carol = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'carol', tenant: 'acme', roles: ['operator'] }));
    await carol.request({ type: 'subscribe', channel: 'news' });
    const row = admin.page.locator('[data-table=connections] tr[data-user=carol]');
    await row.locator('td', { hasText: 'news' }).waitFor();
    assert.deepEqual((await row.locator('td').allTextContents()).slice(0, 4), ['carol', 'acme', 'operator', 'websocket']);
    carol.close();
    await row.waitFor({ state: 'detached' });
  });

  it('publishes from the form and a real client receives it, narrowed to an audience', async () => {
    await using gateway = await herald();
    const reader = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'dan' }));
    await reader.request({ type: 'subscribe', channel: 'news' });
    const director = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'dora', roles: ['director'] }));
    await director.request({ type: 'subscribe', channel: 'news' });
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    await admin.go('channels');
    await page.locator('[data-table=channels] tr[data-channel=news] button').click();
    await page.locator('[data-detail=news] [data-subscribers]', { hasText: '2' }).waitFor();
    await page.fill('[data-form=publish] input[name=event]', 'order:created');
    await page.fill('[data-form=publish] textarea[name=data]', '{"orderId": 42}');
    await page.click('[data-form=publish] button[type=submit]');
    await page.locator('[data-publish-result]', { hasText: 'Published' }).waitFor();
    const pub = await reader.next((f) => f.type === 'pub' && f.event === 'order:created');
    assert.deepEqual([pub.channel, pub.data], ['news', { orderId: 42 }]);
    await page.fill('[data-form=publish] input[name=event]', 'board:meeting');
    await page.fill('[data-form=publish] input[name=roles]', 'director');
    await page.click('[data-form=publish] button[type=submit]');
    await page.locator('[data-publish-result]', { hasText: 'at offset 2' }).waitFor();
    assert.equal((await director.next((f) => f.type === 'pub' && f.event === 'board:meeting')).offset, 2);
    // A publication to everyone after it: once the reader has it, the one before would have come first.
    await gateway.api('POST', '/api/v1/publish', { channel: 'news', event: 'marker' });
    await reader.next((f) => f.type === 'pub' && f.event === 'marker');
    assert.deepEqual(reader.pubs('news').map((p) => p.event), ['order:created', 'marker']);
    reader.close();
    director.close();
  });

  it('tails a channel as publications arrive', async () => {
    await using gateway = await herald();
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    await admin.go('channels');
    await page.fill('[data-form=open] input[name=channel]', 'alerts');
    await page.click('[data-form=open] button[type=submit]');
    await page.click('[data-detail=alerts] [data-action=tail]');
    // The console's own connection is subscribed once the channel counts it.
    await page.locator('[data-detail=alerts] [data-subscribers]', { hasText: '1' }).waitFor();
    await gateway.api('POST', '/api/v1/publish', { channel: 'alerts', event: 'stock_alert', data: { sku: 'A-1' } });
    await gateway.api('POST', '/api/v1/publish', { channel: 'alerts', event: 'payment_error', data: { id: 7 } });
    const rows = page.locator('[data-table=tail] tbody tr');
    await rows.nth(1).waitFor();
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event'))), ['payment_error', 'stock_alert']);
    await page.click('[data-detail=alerts] [data-action=tail]');
    await page.locator('[data-detail=alerts] [data-subscribers]', { hasText: '0' }).waitFor();
  });

  it("tails a channel of another tenant for an operator, and only that tenant's publications", async () => {
    await using gateway = await herald();
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    await admin.go('channels');
    await page.fill('input[name=tenant]', 'acme');
    await page.fill('[data-form=open] input[name=channel]', 'alerts');
    await page.click('[data-form=open] button[type=submit]');
    await page.locator('[data-detail=alerts]', { hasText: 'in tenant acme' }).waitFor();
    await page.click('[data-detail=alerts] [data-action=tail]');
    await page.locator('[data-detail=alerts] [data-subscribers]', { hasText: '1' }).waitFor();
    await gateway.api('POST', '/api/v1/publish', { channel: 'alerts', event: 'default_tenant' });
    await gateway.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'alerts', event: 'acme_tenant' });
    await page.locator('[data-table=tail] tbody tr[data-event=acme_tenant]').waitFor();
    assert.equal(await page.locator('[data-table=tail] tbody tr').count(), 1);
  });

  it('browses history by offset and epoch, page by page', async () => {
    await using gateway = await herald();
    for (let i = 1; i <= 5; i++) await gateway.api('POST', '/api/v1/publish', { channel: 'log', event: `e${i}` });
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    await admin.go('channels');
    await page.fill('[data-form=open] input[name=channel]', 'log');
    await page.click('[data-form=open] button[type=submit]');
    const offsets = () => page.locator('[data-table=history] tbody tr').evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-offset'))));
    await page.locator('[data-table=history] tbody tr').nth(4).waitFor();
    assert.deepEqual(await offsets(), [1, 2, 3, 4, 5]);
    const epoch = await page.locator('[data-epoch]').textContent();
    assert.equal(await page.inputValue('[data-form=history] input[name=epoch]'), epoch);
    await page.fill('[data-form=history] input[name=limit]', '2');
    await page.fill('[data-form=history] input[name=offset]', '1');
    await page.click('[data-form=history] button[type=submit]');
    await page.waitForFunction("document.querySelectorAll('[data-table=history] tbody tr').length === 2");
    assert.deepEqual(await offsets(), [2, 3]);
    await page.click('[data-action=next]');
    await page.waitForFunction("document.querySelector('[data-table=history] tbody tr')?.getAttribute('data-offset') === '4'");
    assert.deepEqual(await offsets(), [4, 5]);
  });

  it('disconnects a user on every connection from the Connections page', async () => {
    await using gateway = await herald();
    const token = await gateway.token({ sub: 'erin' });
    const first = await connectClient(gateway.wsUrl, token);
    const second = await connectClient(gateway.wsUrl, token);
    const bystander = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'finn' }));
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    await admin.go('connections');
    await page.locator('tr[data-user=erin]').nth(1).waitFor();
    await page.locator('tr[data-user=erin] [data-action=disconnect-user]').first().click();
    for (const c of [first, second]) assert.deepEqual(await c.closed, { code: CloseCode.DisconnectedByServer, reason: 'disconnected from the console' });
    await page.locator('[data-notice]', { hasText: 'Disconnected user erin' }).waitFor();
    await page.locator('tr[data-user=erin]').first().waitFor({ state: 'detached' });
    assert.equal(await page.locator('tr[data-user=finn]').count(), 1);
    bystander.close();
  });

  it('shows held locks, the overview figures and the configuration with secrets redacted', async () => {
    await using gateway = await herald({ channels: LOCK_RULES });
    const holder = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'gus' }));
    await holder.request({ type: 'lock', channel: 'doc:7', name: 'title' });
    await gateway.api('POST', '/api/v1/publish', { channel: 'news', event: 'e' });
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    // Gus and the console's own connection.
    await page.locator('[data-total-connections]', { hasText: '2' }).waitFor();
    assert.ok(Number(await page.locator('[data-publications]').textContent()) >= 1);
    assert.equal(await page.locator('[data-counts=transport] tr[data-name=websocket] td.num').textContent(), '2');
    await admin.go('locks');
    assert.equal(await page.locator('tr[data-lock=title] [data-holder]').textContent(), 'gus');
    await admin.go('config');
    const config = JSON.parse((await page.locator('[data-config]').textContent())!);
    assert.equal(config.console.password, '[redacted]');
    assert.equal(config.auth.jwt.secret, '[redacted]');
    holder.close();
  });

  it('keeps a tenant admin inside its tenant: other tenants are not listed, and acting on them is refused', async () => {
    await using gateway = await herald();
    const own = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'amy', tenant: 'acme' }));
    const other = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'zed', tenant: 'globex' }));
    await using admin = await signInToConsole(suite.browser, gateway.url, { token: await gateway.token({ sub: 'ann', tenant: 'acme', roles: ['admin'] }) });
    const { page } = admin;
    assert.equal(await page.locator('[data-user]').textContent(), 'ann · tenant acme');
    await admin.go('connections');
    await page.locator('tr[data-user=amy]').waitFor();
    assert.equal(await page.locator('tr[data-user=zed]').count(), 0);
    assert.equal(await page.inputValue('input[name=tenant]'), 'acme');
    assert.equal(await page.isDisabled('input[name=tenant]'), true);
    // What a crafted request from the signed-in page gets: the session cookie goes along, the gateway refuses.
    const statuses = await page.evaluate(async () => {
      const send = (path: string, body: unknown) =>
        fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-herald-console': '1' }, body: JSON.stringify(body) }).then((r) => r.status);
      return [
        await send('/api/v1/users/zed/disconnect', { tenant: 'globex' }),
        await send('/api/v1/publish', { tenant: 'globex', channel: 'news', event: 'x' }),
        await fetch('/api/v1/connections?tenant=globex', { headers: { 'x-herald-console': '1' } }).then((r) => r.status),
      ];
    });
    assert.deepEqual(statuses, [403, 403, 403]);
    await admin.go('config');
    await page.locator('[data-page=config] [data-error]', { hasText: 'whole gateway' }).waitFor();
    await admin.go('webhooks');
    await page.locator('[data-page=webhooks] [data-error]', { hasText: 'whole gateway' }).waitFor();
    const stillOpen = await Promise.race([other.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 300))]);
    assert.equal(stillOpen, 'open');
    own.close();
    other.close();
  });

  it('shows the link yellow while it reconnects and red while the browser is offline', async () => {
    const gateway = await herald();
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page, context } = admin;
    await page.locator('[data-link-status=connected][data-color=green]').waitFor();
    await gateway.close();
    await page.locator('[data-link-status=reconnecting][data-color=yellow]').waitFor();
    await context.setOffline(true);
    await page.locator('[data-link-status=offline][data-color=red]').waitFor();
  });
});
