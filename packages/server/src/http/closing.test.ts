import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { startHerald, TEST_API_KEY } from '../testing/herald-fixture.js';

const request = (path: string, body: string, sent = body) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${sent}`;

describe('HTTP during shutdown', () => {
  it('answers a request that arrives while the server closes with 503 in the API error shape', async () => {
    const herald = await startHerald();
    const { port } = new URL(herald.url);
    // A keep-alive connection that is busy (its request's body is still coming) when the close begins.
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const body = JSON.stringify({ channel: 'c', event: 'e' });
    const ended = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(request('/api/v1/publish', body, body.slice(0, 5)));
    // Routed before the close begins.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = herald.close();
    // The listener stops once fastify begins to close: then a request on the busy connection is answered while closing.
    for (;;) {
      const refused = await fetch(`${herald.url}/health`).then(() => false, () => true);
      if (refused) break;
    }
    socket.write(body.slice(5) + request('/api/v1/publish', body));
    await closed;
    await ended;
    const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 503], received);
    const last = received.slice(received.lastIndexOf('HTTP/1.1'));
    assert.deepEqual(JSON.parse(last.slice(last.indexOf('\r\n\r\n') + 4)), { error: { code: 'unavailable', message: 'server is shutting down' } });
    socket.destroy();
  });
});
