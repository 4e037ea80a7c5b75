import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type HeraldFixture } from '../testing/herald-fixture.js';
import { connectClient, TestClient } from '../testing/ws-client.js';

/** JSON text of arrays nested `depth` deep: about 20 KB for 10,000, under limits.maxMessageBytes, far past what JSON.stringify can encode. */
const nestedText = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const DEEP = 10_000;

describe('client publishes: bounds on data', () => {
  let herald: HeraldFixture;
  before(async () => {
    herald = await startHerald({ limits: { maxMessageBytes: 262_144 } });
  });
  after(() => herald.close());

  const offsetNow = async (channel: string): Promise<number> => (await herald.api('GET', `/api/v1/channels/${channel}/history`)).body.offset;

  describe('native WebSocket', () => {
    it('answers a publish frame with too deep data with bad_request naming data, and stays open', async () => {
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ws-deep' }));
      client.send(`{"type":"publish","id":7,"channel":"ws-deep","event":"e","data":${nestedText(DEEP)}}`);
      const reply = await client.next((f) => f.type === 'reply' && f.id === 7);
      assert.deepEqual(reply.error, { code: 'bad_request', message: 'data: nested deeper than 64 levels', field: 'data' });
      assert.equal(await offsetNow('ws-deep'), 0);
      assert.ok((await client.request({ type: 'publish', channel: 'ws-deep', event: 'e', data: [[1]] })).result);
      client.close();
    });

    it('answers a publish frame with data over limits.maxDataBytes', async () => {
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ws-large' }));
      const reply = await client.request({ type: 'publish', channel: 'ws-large', event: 'e', data: 'x'.repeat(65_535) });
      assert.deepEqual(reply.error, { code: 'bad_request', message: 'data: larger than 65536 bytes as JSON', field: 'data' });
      client.close();
    });

    it('answers a frame whose type is nested too deep to quote with unknown_frame, and keeps serving', async () => {
      const client = await connectClient(herald.wsUrl, await herald.token({ sub: 'ws-type' }));
      client.send(`{"type":${nestedText(DEEP)},"id":3}`);
      const reply = await client.next((f) => f.type === 'reply' && f.id === 3);
      assert.deepEqual(reply.error, { code: 'unknown_frame', message: 'frame type must be a string, not an array', field: 'type' });
      assert.ok((await client.request({ type: 'subscribe', channel: 'still-here' })).result);
      client.close();
    });
  });

  describe('Socket.IO', () => {
    it('answers a publish event with too deep data with an error naming data', async () => {
      // Raw engine.io frames: socket.io-client itself would recurse into the data to look for binaries.
      const client = new TestClient(`${herald.wsUrl}/socket.io/?EIO=4&transport=websocket`);
      await client.opened();
      client.send(`40${JSON.stringify({ token: await herald.token({ sub: 'sio-deep' }) })}`);
      await client.next((f) => typeof f === 'string' && f.startsWith('42["connected"'));
      // With an ack id (5), as socket.io-client's emitWithAck sends it.
      client.send(`425["publish",{"channel":"sio-deep","event":"e","data":${nestedText(DEEP)}}]`);
      const ack = await client.next((f) => typeof f === 'string' && f.startsWith('435'));
      const { error } = JSON.parse(ack.slice(3))[0];
      assert.deepEqual(error, { code: 'bad_request', message: 'data: nested deeper than 64 levels', field: 'data', event: 'publish', room: 'sio-deep' });
      const event = await client.next((f) => typeof f === 'string' && f.startsWith('42["error"'));
      assert.deepEqual(JSON.parse(event.slice(2))[1], error);
      assert.equal(await offsetNow('sio-deep'), 0);
      client.close();
    });
  });
});
