import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { startHerald } from './testing/herald-fixture.js';
import { waitFor } from './testing/wait.js';
import { connectClient, TestClient } from './testing/ws-client.js';

/** A pino logger whose JSON lines are kept for the test to read. */
function capturingLogger() {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('Operations', () => {
  it('logs one line per connect, disconnect and denial, with the reason', async () => {
    const { logger, lines } = capturingLogger();
    await using herald = await startHerald({ channels: { rules: [{ pattern: 'public', subscribe: 'all' }] } }, { logger });
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann', tenant: 'acme' }));
    const denied = await client.request({ type: 'subscribe', channel: 'secret' });
    assert.equal(denied.error.code, 'forbidden');
    client.close();
    await client.closed;
    const bad = new TestClient(`${herald.wsUrl}/ws?token=not-a-jwt`);
    assert.equal((await bad.closed).code, 4001);
    await waitFor(() => lines.filter((l) => l.event === 'disconnect').length === 1, 'disconnect logged');

    const connects = lines.filter((l) => l.event === 'connect');
    assert.equal(connects.length, 1);
    assert.equal(connects[0].user, 'ann');
    assert.equal(connects[0].tenant, 'acme');
    assert.equal(connects[0].transport, 'websocket');
    const disconnect = lines.find((l) => l.event === 'disconnect');
    assert.equal(disconnect.connection, connects[0].connection);
    assert.equal(typeof disconnect.code, 'number');
    const denials = lines.filter((l) => l.event === 'denied');
    assert.deepEqual(denials.map((d) => d.reason).sort(), ['subscribe_forbidden', 'unauthorized']);
    assert.equal(denials.find((d) => d.reason === 'subscribe_forbidden').channel, 'secret');
  });

  it('counts connections and denials in /metrics', async () => {
    await using herald = await startHerald();
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    const bad = new TestClient(`${herald.wsUrl}/ws?token=nope`);
    await bad.closed;
    const metrics = await (await fetch(`${herald.url}/metrics`)).text();
    assert.match(metrics, /herald_connections\{transport="websocket"\} 1/);
    assert.match(metrics, /herald_denials_total\{reason="unauthorized"\} 1/);
    client.close();
  });

  it('closes clients with 1012 and refuses new upgrades while shutting down', async () => {
    const herald = await startHerald();
    const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ann' }));
    const closing = herald.close();
    assert.equal((await client.closed).code, 1012);
    await closing;
    const late = new TestClient(`${herald.wsUrl}/ws`);
    await assert.rejects(late.opened());
  });
});
