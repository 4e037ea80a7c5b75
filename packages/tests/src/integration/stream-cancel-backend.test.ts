import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  openUpload,
  startHerald,
  startWebhookReceiver,
  TEST_WEBHOOK_SECRET,
  TestClient,
  waitFor,
  type HeraldFixture,
} from '@herald/server/testing';

// Seed 002's viewer cancels an LLM iteration: the three parts the backend hears it from (the open
// upload's answer, a `stream.cancelled` webhook, the audit feed) are separate modules joined only by
// the lifecycle bus. This runs them together on one real gateway, as a deployment does.

const retry = { initialDelay: 50, maxDelay: 200, giveUpAfter: 1_000 };

async function gateway(webhookUrl: string, deadUrl: string): Promise<HeraldFixture> {
  return startHerald({
    routes: [{ path: '/ws/projects/{project_id}', channel: 'project:{project_id}', format: 'data' }],
    channels: { rules: [{ pattern: 'project:*', history: { size: 500, ttl: '10m' }, cancel: { roles: ['editor'] } }] },
    audit: { enabled: true, operatorTenant: 'ops' },
    webhooks: {
      secret: TEST_WEBHOOK_SECRET,
      endpoints: [
        { url: webhookUrl, name: 'backend', events: ['stream.cancelled'], retry },
        // Nothing listens there: every attempt is refused, so the event fails once its retries run out.
        { url: deadUrl, name: 'gone', events: ['stream.cancelled'], retry, timeout: 500 },
      ],
    },
  });
}

async function auditReader(h: HeraldFixture, types: string): Promise<TestClient> {
  const token = await h.token({ sub: 'root', tenant: 'ops', roles: ['admin'] });
  const reader = new TestClient(`${h.wsUrl}/ws/audit?token=${encodeURIComponent(token)}&types=${types}`);
  await reader.opened();
  await reader.next((f) => f.type === 'subscribed');
  return reader;
}

const records = (reader: TestClient, type: string) => reader.frames.filter((f) => f.type === 'audit' && f.record.type === type).map((f) => f.record);

describe("a viewer's cancel reaches the backend three ways", () => {
  it('ends the open upload as cancelled, fires stream.cancelled once, and shows the cancel and the failed webhook in the audit feed', async () => {
    await using receiver = await startWebhookReceiver();
    const dead = await startWebhookReceiver();
    const deadUrl = dead.url;
    await dead[Symbol.asyncDispose]();
    await using h = await gateway(receiver.url, deadUrl);
    const audit = await auditReader(h, 'stream,webhook');

    const opened = await h.api('POST', '/api/v1/streams', {
      channel: 'project:1',
      kind: 'tokens',
      start: { type: 'iteration_start', proposal_id: 7 },
      cancelled: { type: 'iteration_cancelled' },
    });
    assert.equal(opened.status, 200, JSON.stringify(opened.body));
    const streamId = opened.body.id as string;
    const upload = openUpload(`${h.url}/api/v1/streams/${streamId}/upload`, h.apiKey);
    upload.write(JSON.stringify({ type: 'token', content: 'Hello' }));

    const viewer = new TestClient(`${h.wsUrl}/ws/projects/1?token=${encodeURIComponent(await h.token({ sub: 'dev1', roles: ['editor'] }))}`);
    await viewer.opened();
    await viewer.next((f) => f.type === 'iteration_start');
    const clicked = performance.now();
    viewer.send({ type: 'cancel' });

    const answer = await upload.response;
    const cancelMs = Math.round(answer.at - clicked);
    assert.deepEqual([answer.status, answer.body], [200, { status: 'cancelled', chunks: 1 }]);
    await viewer.next((f) => f.type === 'iteration_cancelled');
    const late = await h.api('POST', `/api/v1/streams/${streamId}/chunks`, { chunks: [{ type: 'token', content: 'late' }] });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'stream_ended');

    const hook = await receiver.waitFor((w) => w.type === 'stream.cancelled', 'the stream.cancelled webhook');
    assert.deepEqual([hook.data.tenant, hook.data.channel, hook.data.streamId, hook.data.userId], ['default', 'project:1', streamId, 'dev1']);

    await waitFor(() => records(audit, 'webhook').length === 1, 'the failed webhook in the audit feed', 10_000);
    const [cancel] = records(audit, 'stream');
    assert.deepEqual([cancel.action, cancel.tenant, cancel.channel, cancel.streamId, cancel.userId], ['cancelled', 'default', 'project:1', streamId, 'dev1']);
    const [failed] = records(audit, 'webhook');
    assert.deepEqual([failed.action, failed.endpoint, failed.webhookType], ['failed', 'gone', 'stream.cancelled']);
    assert.ok(typeof failed.reason === 'string' && failed.reason.length > 0, 'the failure says why');
    // Delivery to the backend that answers is unaffected by the one that never does.
    assert.equal(receiver.ofType('stream.cancelled').length, 1);
    console.log(`cancel click to the upload's answer: ${cancelMs} ms (seed 002 needs 100 ms)`);
    assert.ok(cancelMs < 1_000, `the upload heard of the cancel after ${cancelMs} ms`);
    viewer.close();
    audit.close();
  });
});
