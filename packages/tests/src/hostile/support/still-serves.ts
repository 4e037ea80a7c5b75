import assert from 'node:assert/strict';
import { connectClient, within, type HeraldFixture } from '@herald/server/testing';

let probes = 0;

/**
 * Errors nothing handled. In a server process these end it; the test runner catches them
 * instead (and may pin them on a finished test), so they are recorded here and fail the check.
 */
const uncaught: unknown[] = [];
process.on('uncaughtException', (err) => uncaught.push(err));
process.on('unhandledRejection', (err) => uncaught.push(err));

/**
 * The server survived: nothing went unhandled, `/health` answers, and a normal WebSocket client connects, subscribes
 * and receives a publication from the HTTP API. Each call uses its own tenant and channel.
 * `token` signs for servers that do not take the fixture's secret.
 */
export async function assertStillServes(herald: HeraldFixture, options: { token?: (sub: string, tenant: string) => string | Promise<string> } = {}): Promise<void> {
  // Errors of resets and writes land a moment after the act: give them a turn of the loop.
  await new Promise((resolve) => setTimeout(resolve, 5));
  // Taken, not just read: each check answers for what happened since the last one.
  assert.deepEqual(uncaught.splice(0).map(String), [], 'nothing may go unhandled: in a server process it would end the process');
  const health = await fetch(`${herald.url}/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, 'ok');
  const n = ++probes;
  // A tenant per probe: it never meets a tenant connection limit a test has set.
  const tenant = `probe-${n}`;
  const client = await connectClient(herald.wsUrl, await (options.token ?? ((sub, t) => herald.token({ sub, tenant: t })))('probe', tenant));
  try {
    const channel = `probe:${n}`;
    assert.ok((await client.request({ type: 'subscribe', channel })).result, 'subscribed');
    const published = await herald.api('POST', '/api/v1/publish', { channel, event: 'probe', data: { n }, tenant });
    assert.equal(published.status, 200, JSON.stringify(published.body));
    const pub = await within(client.next((f) => f?.type === 'pub' && f.channel === channel), 3000, 'the probe publication');
    assert.deepEqual(pub.data, { n });
  } finally {
    client.close();
  }
}
