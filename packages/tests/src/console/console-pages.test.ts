import assert from 'node:assert/strict';
import { it } from 'node:test';
import { connectClient, openUpload, startWebhookReceiver, TestClient, TEST_WEBHOOK_SECRET, waitFor } from '@herald/server/testing';
import { describeInChromium } from '../support/browser.js';
import { CONSOLE_PASSWORD, consoleSuite, signInToConsole } from '../support/console.js';

/** The audit feed on, its operators the console's (the `default` tenant), as in the dev defaults. */
const AUDIT = { audit: { enabled: true, operatorTenant: 'default' } };

describeInChromium('The console’s Streams, Audit and Webhooks pages in Chromium', () => {
  const suite = consoleSuite();
  const herald = suite.herald;
  const rowTypes = (page: import('playwright-core').Page) =>
    page.locator('[data-table=audit] tbody tr').evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-type')}:${tr.getAttribute('data-user')}`));

  it('watches the audit feed live and narrows it with the filter form', async () => {
    await using gateway = await herald(AUDIT);
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    await admin.go('audit');
    await page.locator('[data-feed=live]', { hasText: 'may see every tenant' }).waitFor();
    const ann = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'ann', tenant: 'acme' }));
    const bob = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'bob', tenant: 'globex' }));
    await page.locator('[data-table=audit] tr[data-type=connect][data-user=ann]').waitFor();
    await page.locator('[data-table=audit] tr[data-type=connect][data-user=bob]').waitFor();

    await page.check('[data-form=audit-filter] input[value=disconnect]');
    await page.fill('[data-form=audit-filter] input[name=user]', 'ann');
    await page.click('[data-form=audit-filter] button[type=submit]');
    await page.locator('[data-feed=live]').waitFor();
    await page.locator('[data-table=audit]').waitFor({ state: 'detached' });
    bob.close();
    ann.close();
    await page.locator('[data-table=audit] tr[data-type=disconnect][data-user=ann]').waitFor();
    // Bob's disconnect came first: once Ann's is shown, Bob's would have been too.
    assert.deepEqual(await rowTypes(page), ['disconnect:ann']);

    // A channel pattern: the kept publish records on order:* only.
    await gateway.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'order:1', event: 'paid' });
    await gateway.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'news', event: 'headline' });
    await page.uncheck('[data-form=audit-filter] input[value=disconnect]');
    await page.check('[data-form=audit-filter] input[value=publish]');
    await page.fill('[data-form=audit-filter] input[name=user]', '');
    await page.fill('[data-form=audit-filter] input[name=channel]', 'order:*');
    await page.click('[data-form=audit-filter] button[type=submit]');
    await page.locator('[data-table=audit] tr[data-type=publish]').waitFor();
    assert.equal(await page.locator('[data-table=audit] tbody tr').count(), 1);
    assert.match((await page.locator('[data-table=audit] tbody tr').textContent())!, /order:1.*event=paid/);

    // A filter the feed refuses is shown with the feed's message.
    await page.fill('[data-form=audit-filter] input[name=channel]', '');
    await page.fill('input[name=tenant]', 'Not A Tenant');
    await page.click('[data-form=audit-filter] button[type=submit]');
    await page.locator('[data-feed=error] [data-error]', { hasText: 'tenant' }).waitFor();
  });

  it('shows a tenant admin only its own tenant’s audit records', async () => {
    await using gateway = await herald(AUDIT);
    await using admin = await signInToConsole(suite.browser, gateway.url, { token: await gateway.token({ sub: 'amy', tenant: 'acme', roles: ['admin'] }) });
    const { page } = admin;
    await admin.go('audit');
    await page.locator('[data-feed=live]', { hasText: 'tenant acme only' }).waitFor();
    const zed = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'zed', tenant: 'globex' }));
    const ann = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'ann', tenant: 'acme' }));
    await page.locator('[data-table=audit] tr[data-type=connect][data-user=ann]').waitFor();
    assert.equal(await page.locator('[data-table=audit] tr[data-user=zed]').count(), 0);
    assert.ok((await page.locator('[data-table=audit] tbody tr td:nth-child(3)').allTextContents()).every((t) => t === 'acme'));
    zed.close();
    ann.close();
  });

  it('shows a webhook endpoint that fails: its count, the failure with its status, and the deliveries that went through', async () => {
    await using failing = await startWebhookReceiver();
    failing.mode = 503;
    await using healthy = await startWebhookReceiver();
    await using gateway = await herald({
      webhooks: {
        secret: TEST_WEBHOOK_SECRET,
        endpoints: [
          { url: failing.url, name: 'crm', events: ['client.connected'], retry: { initialDelay: 50, maxDelay: 100, giveUpAfter: 300 } },
          { url: healthy.url, name: 'analytics', events: ['client.connected'] },
        ],
      },
    });
    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    await admin.go('webhooks');
    await page.locator('[data-table=endpoints] tr[data-endpoint=crm]').waitFor();
    const client = await connectClient(gateway.wsUrl, await gateway.token({ sub: 'cleo' }));
    const failure = page.locator('[data-table=failures] tr[data-endpoint=crm]').first();
    await failure.waitFor();
    assert.match((await failure.locator('[data-outcome]').textContent())!, /^failed HTTP 503$/);
    assert.notEqual(await page.locator('[data-table=endpoints] tr[data-endpoint=crm] [data-failed]').textContent(), '0');
    await page.locator('[data-table=deliveries] tr[data-endpoint=analytics] [data-outcome]', { hasText: 'sent' }).first().waitFor();
    assert.equal(await page.locator('[data-table=failures] tr[data-endpoint=analytics]').count(), 0);
    client.close();
  });

  it('shows an open stream with its viewer and cancels it: the viewer gets the cancelled message, the upload ends, the webhook and the audit feed name the console user', async () => {
    await using receiver = await startWebhookReceiver();
    await using gateway = await herald({
      ...AUDIT,
      webhooks: { secret: TEST_WEBHOOK_SECRET, endpoints: [{ url: receiver.url, events: ['stream.cancelled'] }] },
      routes: [{ path: '/ws/projects/{project_id}', channel: 'project:{project_id}', format: 'data' }],
      // No viewer may cancel here: the console's cancel is an admin's.
      channels: { rules: [{ pattern: '*', history: { size: 100, ttl: '5m' }, cancel: 'none' }] },
      streams: { idleTimeout: 60_000 },
    });
    const events: { action: string; userId?: string; streamId: string }[] = [];
    gateway.server.node.events.on('stream', (e) => events.push(e));
    const viewer = new TestClient(`${gateway.wsUrl}/ws/projects/1?token=${await gateway.token({ sub: 'vic' })}`);
    await viewer.opened();
    await waitFor(() => gateway.server.node.hub.localSubscribers('default', 'project:1') === 1);
    const opened = await gateway.api('POST', '/api/v1/streams', { channel: 'project:1', kind: 'tokens', cancelled: { type: 'iteration_cancelled' } });
    const id = opened.body.id as string;
    const upload = openUpload(`${gateway.url}/api/v1/streams/${id}/upload`, gateway.apiKey);
    upload.write(JSON.stringify({ type: 'token', content: 'Hello' }));
    await viewer.next((f) => f.content === 'Hello');

    await using admin = await signInToConsole(suite.browser, gateway.url, { password: CONSOLE_PASSWORD });
    const { page } = admin;
    await admin.go('streams');
    const row = page.locator(`[data-table=streams] tr[data-stream="${id}"]`);
    await row.waitFor();
    assert.deepEqual([await row.locator('[data-viewers]').textContent(), await row.locator('[data-bytes]').textContent()], ['1', '5']);
    await row.locator('[data-action=cancel]').click();
    await viewer.next((f) => f.type === 'iteration_cancelled');
    const answer = await upload.response;
    assert.deepEqual([answer.status, answer.body.status], [200, 'cancelled']);
    await page.locator('[data-notice]', { hasText: `Cancelled stream ${id}` }).waitFor();
    await row.waitFor({ state: 'detached' });
    assert.deepEqual(events.filter((e) => e.action === 'cancelled').map((e) => [e.streamId, e.userId]), [[id, 'console:password']]);
    const webhook = await receiver.waitFor((w) => w.type === 'stream.cancelled', 'the stream.cancelled webhook');
    assert.deepEqual([webhook.data.streamId, webhook.data.userId, webhook.data.channel], [id, 'console:password', 'project:1']);
    await admin.go('audit');
    await page.check('[data-form=audit-filter] input[value=stream]');
    await page.click('[data-form=audit-filter] button[type=submit]');
    const record = page.locator('[data-table=audit] tr[data-type=stream][data-user="console:password"]');
    await record.waitFor();
    assert.match((await record.textContent())!, new RegExp(`action=cancelled.*streamId=${id}`));
    upload.end();
    viewer.close();
  });
});
