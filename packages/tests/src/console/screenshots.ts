#!/usr/bin/env node
// Takes the screenshots of docs/console.md: a gateway with a few clients in two tenants, some
// traffic, a lock, an open stream, the audit feed and a failing webhook endpoint, each page of the console in Chromium, PNGs into docs/console/.
// Run after a build: node packages/tests/dist/console/screenshots.js
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectClient, openUpload, startHerald, startWebhookReceiver, TEST_WEBHOOK_SECRET, type TestClient } from '@herald/server/testing';
import { launchChromium } from '../support/browser.js';
import { buildConsole, CONSOLE_PASSWORD, consoleConfig, signInToConsole } from '../support/console.js';

const OUT = fileURLToPath(new URL('../../../../docs/console/', import.meta.url));
/** Seconds of traffic before the pictures, so the charts show a shape. */
const TRAFFIC_SECONDS = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

mkdirSync(OUT, { recursive: true });
const assets = buildConsole();
const crm = await startWebhookReceiver();
crm.mode = 503;
const analytics = await startWebhookReceiver();
const herald = await startHerald({
  ...consoleConfig(assets),
  audit: { enabled: true, operatorTenant: 'default' },
  webhooks: {
    secret: TEST_WEBHOOK_SECRET,
    endpoints: [
      { url: crm.url, name: 'crm', events: ['client.connected', 'client.disconnected'], retry: { initialDelay: 100, maxDelay: 500, giveUpAfter: 2000 } },
      { url: analytics.url, name: 'analytics', events: ['client.connected', 'channel.subscribed'] },
    ],
  },
  channels: {
    rules: [
      { pattern: 'doc:*', subscribe: 'all', publish: 'all', locks: { ttl: '2m' } },
      { pattern: 'city:*', subscribe: { roles: ['operator', 'director'] }, history: { size: 100, ttl: '5m' }, presence: true, joinLeave: true },
      { pattern: '*', subscribe: 'all', publish: 'all', history: { size: 100, ttl: '5m' }, presence: true },
    ],
  },
});
const browser = await launchChromium();
const clients: TestClient[] = [];
try {
  for (const [sub, tenant, roles, channels] of [
    ['olga', 'acme', ['operator'], ['operators', 'city:Paris']],
    ['oleg', 'acme', ['operator'], ['operators', 'city:Paris', 'order:42']],
    ['dina', 'acme', ['director'], ['city:Rome']],
    ['sam', 'globex', ['operator'], ['operators', 'doc:plan']],
  ] as const) {
    const client = await connectClient(herald.wsUrl, await herald.token({ sub, tenant, roles: [...roles], name: sub[0].toUpperCase() + sub.slice(1) }));
    for (const channel of channels) await client.request({ type: 'subscribe', channel });
    clients.push(client);
  }
  await clients[3].request({ type: 'lock', channel: 'doc:plan', name: 'title' });
  const answer = await herald.api('POST', '/api/v1/streams', { tenant: 'acme', channel: 'order:42', kind: 'tokens', start: { type: 'answer_start' }, cancelled: { type: 'answer_cancelled' } });
  const upload = openUpload(`${herald.url}/api/v1/streams/${answer.body.id}/upload`, herald.apiKey);
  for (const content of ['The order ', 'ships ', 'on Monday.']) upload.write(JSON.stringify({ type: 'token', content }));
  for (let s = 0; s < TRAFFIC_SECONDS; s++) {
    const n = 2 + Math.round(4 * (1 + Math.sin(s / 3)));
    for (let i = 0; i < n; i++) await herald.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'city:Paris', event: 'call:new', data: { callId: s * 10 + i, from: '+33 1 23 45' } });
    await sleep(1000);
  }

  const signIn = await browser.newPage({ viewport: { width: 1280, height: 640 } });
  await signIn.goto(`${herald.url}/console/`);
  await signIn.waitForSelector('[data-page=sign-in]');
  await signIn.screenshot({ path: `${OUT}sign-in.png` });
  await signIn.close();

  await using admin = await signInToConsole(browser, herald.url, { password: CONSOLE_PASSWORD });
  const { page } = admin;
  await page.locator('[data-link-status=connected]').waitFor();
  await sleep(2500);
  await page.screenshot({ path: `${OUT}overview.png`, fullPage: true });

  await admin.go('channels');
  await page.fill('input[name=tenant]', 'acme');
  await page.click('[data-form=search] button[type=submit]');
  await page.locator('[data-table=channels] tr[data-channel="city:Paris"] button').click();
  await page.click('[data-detail="city:Paris"] [data-action=tail]');
  await page.locator('[data-detail="city:Paris"] [data-subscribers]', { hasText: '3' }).waitFor();
  await page.fill('[data-form=history] input[name=limit]', '5');
  await page.click('[data-action=newest]');
  await herald.api('POST', '/api/v1/publish', { tenant: 'acme', channel: 'city:Paris', event: 'call:ended', data: { callId: 7, seconds: 95 } });
  await page.locator('[data-table=tail] tbody tr').first().waitFor();
  await page.fill('[data-form=publish] input[name=event]', 'notification');
  await page.fill('[data-form=publish] textarea[name=data]', '{"text": "Meeting at 3 pm"}');
  await page.fill('[data-form=publish] input[name=roles]', 'director');
  await page.screenshot({ path: `${OUT}channels.png`, fullPage: true });

  await admin.go('connections');
  await page.locator('tr[data-user=sam]').waitFor();
  await page.screenshot({ path: `${OUT}connections.png`, fullPage: true });

  await admin.go('locks');
  await page.locator('tr[data-lock=title]').waitFor();
  await page.screenshot({ path: `${OUT}locks.png`, fullPage: true });

  await admin.go('streams');
  await page.locator('[data-table=streams] tr[data-channel="order:42"]').waitFor();
  await page.screenshot({ path: `${OUT}streams.png`, fullPage: true });

  await admin.go('audit');
  await page.locator('[data-table=audit] tbody tr').first().waitFor();
  await page.check('[data-form=audit-filter] input[value=connect]');
  await page.check('[data-form=audit-filter] input[value=publish]');
  await page.fill('input[name=tenant]', 'acme');
  await page.click('[data-form=audit-filter] button[type=submit]');
  await page.locator('[data-table=audit] tr[data-type=publish]').first().waitFor();
  await page.screenshot({ path: `${OUT}audit.png` });

  await admin.go('webhooks');
  await page.locator('[data-table=failures] tr[data-endpoint=crm]').first().waitFor();
  await page.screenshot({ path: `${OUT}webhooks.png`, fullPage: true });
  upload.end();

  await admin.go('config');
  await page.locator('[data-config]').waitFor();
  await page.screenshot({ path: `${OUT}configuration.png` });
  console.log(`screenshots in ${OUT}`);
} finally {
  for (const c of clients) c.close();
  await browser.close();
  await herald.close();
  await crm.close();
  await analytics.close();
}
