import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { firstFragment, lastFragment, preFraming, textFrame, writeFrame } from './ws-frames.js';

describe('ws-frames', () => {
  it('frames messages of every length class once, and a stock client reads them in order', async () => {
    assert.equal(preFraming, true, 'this ws can pre-frame');
    // 7-bit, 16-bit and 64-bit payload lengths, and non-ASCII text.
    const payloads = ['x', 'é'.repeat(200), 'y'.repeat(70_000), '{"type":"pub","data":"Саратов"}'];
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws) => {
      for (const p of payloads) assert.equal(writeFrame(ws, textFrame(Buffer.from(p))), true);
    });
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('message', (data, isBinary) => {
        assert.equal(isBinary, false);
        got.push(String(data));
        if (got.length === payloads.length) resolve();
      });
      client.on('error', reject);
    });
    assert.deepEqual(got, payloads);
    client.close();
    await new Promise((resolve) => wss.close(resolve));
  });

  it('splits a message into a shared first fragment and a last one of every length class, read back whole', async () => {
    const heads = ['4', 'é'.repeat(300), 'z'.repeat(70_000)];
    const ends = [',"-"]', `,"${'Lm2p0q:18,'.repeat(20)}x:1"]`, `,"${'a'.repeat(70_000)}"]`];
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws) => {
      for (const head of heads) for (const end of ends) assert.equal(writeFrame(ws, Buffer.concat([firstFragment(Buffer.from(head)), lastFragment(end)])), true);
    });
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('message', (data) => {
        got.push(String(data));
        if (got.length === heads.length * ends.length) resolve();
      });
      client.on('error', reject);
    });
    assert.deepEqual(got, heads.flatMap((head) => ends.map((end) => head + end)));
    client.close();
    await new Promise((resolve) => wss.close(resolve));
  });
});
