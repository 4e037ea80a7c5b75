import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { APP, serverSdk, startPusherHerald } from './support.js';

/** A bare socket to `/app/{key}`: frames as they are on the wire, and the close code. */
async function open(url: string) {
  const ws = new WebSocket(url);
  const frames: any[] = [];
  const waiting: (() => void)[] = [];
  ws.on('message', (d) => {
    frames.push(JSON.parse(String(d)));
    for (const w of waiting.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const next = async (test: (f: any) => boolean, timeoutMs = 3000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = frames.find(test);
      if (found) {
        frames.splice(frames.indexOf(found), 1);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`no such frame: ${JSON.stringify(frames)}`);
      await new Promise<void>((r) => {
        waiting.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { ws, frames, next, closed, send: (f: unknown) => ws.send(typeof f === 'string' ? f : JSON.stringify(f)) };
}

describe('the Pusher protocol on the wire', () => {
  it('tells socket_id and activity_timeout, answers pusher:ping, and tells bad frames without closing', async () => {
    await using herald = await startPusherHerald({ pusher: { activityTimeout: '60s' } });
    const c = await open(`${herald.wsUrl}/app/${APP.key}?protocol=7&client=js&version=8.6.0`);
    const hello = await c.next((f) => f.event === 'pusher:connection_established');
    const data = JSON.parse(hello.data);
    assert.match(data.socket_id, /^\d+\.\d+$/);
    assert.equal(data.activity_timeout, 60);
    c.send({ event: 'pusher:ping', data: {} });
    await c.next((f) => f.event === 'pusher:pong');
    c.send('not json');
    assert.equal((await c.next((f) => f.event === 'pusher:error')).data.code, null);
    c.send({ event: 'pusher:subscribe', data: { channel: 'bad channel!' } });
    assert.match((await c.next((f) => f.event === 'pusher:error')).data.message, /channel/);
    c.send({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: `${APP.key}:${'0'.repeat(64)}` } });
    const refused = await c.next((f) => f.event === 'pusher:subscription_error');
    assert.equal(refused.channel, 'private-x');
    assert.equal(refused.data.status, 401);
    // A client event too large for the app is refused; the connection stays.
    const auth = serverSdk(herald).authorizeChannel(data.socket_id, 'private-y');
    c.send({ event: 'pusher:subscribe', data: { channel: 'private-y', auth: auth.auth } });
    await c.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'private-y');
    const sealed = serverSdk(herald, APP, Buffer.alloc(32, 1).toString('base64')).authorizeChannel(data.socket_id, 'private-encrypted-y');
    c.send({ event: 'pusher:subscribe', data: { channel: 'private-encrypted-y', auth: sealed.auth } });
    await c.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'private-encrypted-y');
    c.send({ event: 'client-x', channel: 'private-encrypted-y', data: {} });
    assert.match((await c.next((f) => f.event === 'pusher:error')).data.message, /private and presence channels only/);
    c.send({ event: 'client-big', channel: 'private-y', data: 'x'.repeat(11_000) });
    assert.match((await c.next((f) => f.event === 'pusher:error')).data.message, /more than the app's 10240/);
    c.send({ event: 'pusher:ping', data: {} });
    await c.next((f) => f.event === 'pusher:pong');
    c.ws.close();
  });

  it('serves protocol versions 5 and 6 as well', async () => {
    await using herald = await startPusherHerald();
    for (const version of [5, 6]) {
      const c = await open(`${herald.wsUrl}/app/${APP.key}?protocol=${version}`);
      await c.next((f) => f.event === 'pusher:connection_established');
      c.ws.close();
    }
  });

  for (const [path, code] of [
    [`/app/${APP.key}`, 4008],
    [`/app/${APP.key}?protocol=x`, 4006],
    [`/app/${APP.key}?protocol=9`, 4007],
    [`/app/${APP.key}/more?protocol=7`, 4005],
  ] as const) {
    it(`closes a connection to ${path} with ${code}`, async () => {
      await using herald = await startPusherHerald();
      const c = await open(`${herald.wsUrl}${path}`);
      const error = await c.next((f) => f.event === 'pusher:error');
      assert.equal(error.data.code, code);
      assert.equal((await c.closed).code, code);
    });
  }

  it('closes a connection over the app tenant connection limit with 4004', async () => {
    await using herald = await startPusherHerald({ limits: { connectionsPerTenant: 1 } });
    const first = await open(`${herald.wsUrl}/app/${APP.key}?protocol=7`);
    await first.next((f) => f.event === 'pusher:connection_established');
    const second = await open(`${herald.wsUrl}/app/${APP.key}?protocol=7`);
    assert.equal((await second.closed).code, 4004);
    first.ws.close();
  });

  it('closes with 4009 for a forged sign-in', async () => {
    await using herald = await startPusherHerald();
    const c = await open(`${herald.wsUrl}/app/${APP.key}?protocol=7`);
    await c.next((f) => f.event === 'pusher:connection_established');
    c.send({ event: 'pusher:signin', data: { auth: `${APP.key}:${'0'.repeat(64)}`, user_data: '{"id":"ann"}' } });
    assert.equal((await c.next((f) => f.event === 'pusher:error')).data.code, 4009);
    assert.equal((await c.closed).code, 4009);
  });

  it('closes with 4100 past limits.messageRate, and with 4200 when the server shuts down', async () => {
    await using herald = await startPusherHerald({ limits: { messageRate: { perSecond: 1, burst: 3 } } });
    const flood = await open(`${herald.wsUrl}/app/${APP.key}?protocol=7`);
    await flood.next((f) => f.event === 'pusher:connection_established');
    for (let i = 0; i < 6; i++) flood.send({ event: 'pusher:ping', data: {} });
    assert.equal((await flood.closed).code, 4100);
    const calm = await open(`${herald.wsUrl}/app/${APP.key}?protocol=7`);
    await calm.next((f) => f.event === 'pusher:connection_established');
    const closing = herald.close();
    assert.equal((await calm.closed).code, 4200);
    await closing;
  });

  it('closes with 4201 a connection that answers no ping', async () => {
    await using herald = await startPusherHerald({ pusher: { activityTimeout: 300 }, heartbeat: { timeout: 300 } });
    const ws = new WebSocket(`${herald.wsUrl}/app/${APP.key}?protocol=7`, { autoPong: false });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    assert.equal(await closed, 4201);
  });

  it('refuses a channel a rule denies (403), and a presence channel whose rule keeps no presence (500)', async () => {
    await using herald = await startPusherHerald({
      channels: { rules: [{ pattern: 'staff-*', subscribe: 'none' }, { pattern: 'presence-bare', presence: false }, { pattern: '*' }] },
    });
    const c = await open(`${herald.wsUrl}/app/${APP.key}?protocol=7`);
    const socketId = JSON.parse((await c.next((f) => f.event === 'pusher:connection_established')).data).socket_id;
    c.send({ event: 'pusher:subscribe', data: { channel: 'staff-room' } });
    assert.equal((await c.next((f) => f.event === 'pusher:subscription_error')).data.status, 403);
    const channelData = JSON.stringify({ user_id: 'ann' });
    const auth = serverSdk(herald).authorizeChannel(socketId, 'presence-bare', { user_id: 'ann' });
    assert.equal(auth.channel_data, channelData);
    c.send({ event: 'pusher:subscribe', data: { channel: 'presence-bare', auth: auth.auth, channel_data: auth.channel_data } });
    const refused = await c.next((f) => f.event === 'pusher:subscription_error');
    assert.equal(refused.data.status, 500);
    assert.match(refused.data.error, /needs presence/);
    c.ws.close();
  });

  it('answers hostile frames with pusher:error and stays up for them and for everyone else', async () => {
    await using herald = await startPusherHerald({ limits: { messageRate: { perSecond: 1000, burst: 1000 } } });
    const c = await open(`${herald.wsUrl}/app/${APP.key}?protocol=7`);
    const socketId = JSON.parse((await c.next((f) => f.event === 'pusher:connection_established')).data).socket_id;
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const hostile: unknown[] = [
      '[]', 'null', '42', '"text"', deep, `{"event":${deep}}`,
      { event: 123 }, { event: '' }, { event: 'x'.repeat(500) }, { event: 'pusher:subscribe' }, { event: 'pusher:subscribe', data: [] },
      { event: 'pusher:subscribe', data: { channel: 'a'.repeat(200) } }, { event: 'pusher:subscribe', data: { channel: 'presence-x', auth: 'no-colon' } },
      { event: 'pusher:subscribe', data: { channel: 'presence-x', auth: `${APP.key}:zz`, channel_data: deep } },
      { event: 'pusher:subscribe', data: '{"channel":' }, { event: 'pusher:unsubscribe', data: { channel: 'never-subscribed' } },
      { event: 'client-x' }, { event: 'client-x', channel: ['a'] },
      { event: 'client-x', channel: 'private-not-mine', data: {} }, { event: 'pusher_internal:member_added', channel: 'presence-x', data: {} },
    ];
    for (const frame of hostile) c.send(frame);
    c.send({ event: 'pusher:ping', data: {} });
    await c.next((f) => f.event === 'pusher:pong', 5000);
    assert.ok(c.frames.every((f) => f.event === 'pusher:error' || f.event === 'pusher:subscription_error'), JSON.stringify(c.frames.filter((f) => !String(f.event).includes('error'))));
    await new Promise((r) => setTimeout(r, 200));
    c.frames.length = 0;
    // A subscribe given as a JSON string works as one given as an object.
    const auth = serverSdk(herald).authorizeChannel(socketId, 'private-ok');
    c.send({ event: 'pusher:subscribe', data: JSON.stringify({ channel: 'private-ok', auth: auth.auth }) });
    await c.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'private-ok');
    c.send(`{"event":"client-deep","channel":"private-ok","data":${'['.repeat(30_000)}${']'.repeat(30_000)}}`);
    assert.match((await c.next((f) => f.event === 'pusher:error')).data.message, /client event data: .*nest/);
    const other = await open(`${herald.wsUrl}/app/${APP.key}?protocol=7`);
    await other.next((f) => f.event === 'pusher:connection_established');
    c.ws.close();
    other.ws.close();
  });
});
