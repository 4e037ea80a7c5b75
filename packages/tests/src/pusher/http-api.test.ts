import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { APP, connected, disconnecting, next, OTHER_APP, pusherJs, serverSdk, startAuthEndpoint, startPusherHerald } from './support.js';

/** A request signed by hand, for what the SDK will not send: an old timestamp, a body it did not sign. */
function signedUrl(base: string, method: string, path: string, body: string, options: { timestamp?: number; secret?: string } = {}): string {
  const params: Record<string, string> = {
    auth_key: APP.key,
    auth_timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...(body ? { body_md5: createHash('md5').update(body).digest('hex') } : {}),
  };
  const query = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  const signature = createHmac('sha256', options.secret ?? APP.secret).update(`${method}\n${path}\n${query}`).digest('hex');
  return `${base}${path}?${query}&auth_signature=${signature}`;
}

describe('the Pusher HTTP API with the pusher SDK', () => {
  it('publishes events and batches that reach pusher-js', async () => {
    await using herald = await startPusherHerald();
    const client = pusherJs(herald);
    using _ = disconnecting(client);
    const channel = client.subscribe('feed');
    await next(channel, 'pusher:subscription_succeeded');
    const sdk = serverSdk(herald);
    const got: unknown[] = [];
    channel.bind('item', (d: unknown) => got.push(d));
    const response = await sdk.trigger(['feed', 'other'], 'item', { n: 1 });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {});
    assert.equal((await sdk.triggerBatch([{ channel: 'feed', name: 'item', data: { n: 2 } }, { channel: 'feed', name: 'item', data: 'plain text' }])).status, 200);
    const deadline = Date.now() + 5000;
    while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, [{ n: 1 }, { n: 2 }, 'plain text']);
  });

  it('answers channel queries: occupied channels, one channel, presence users', async () => {
    await using herald = await startPusherHerald();
    await using auth = await startAuthEndpoint(APP, { ann: { id: 'ann' } });
    const client = pusherJs(herald, { auth: auth.url, user: 'ann' });
    using _ = disconnecting(client);
    await Promise.all(['news', 'presence-lobby'].map((c) => next(client.subscribe(c), 'pusher:subscription_succeeded')));
    const sdk = serverSdk(herald);
    assert.deepEqual(await (await sdk.get({ path: '/channels' })).json(), { channels: { news: {}, 'presence-lobby': {} } });
    assert.deepEqual(await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json(), {
      channels: { 'presence-lobby': { user_count: 1 } },
    });
    assert.deepEqual(await (await sdk.get({ path: '/channels/news', params: { info: 'subscription_count' } })).json(), { occupied: true, subscription_count: 1 });
    assert.deepEqual(await (await sdk.get({ path: '/channels/empty' })).json(), { occupied: false });
    assert.deepEqual(await (await sdk.get({ path: '/channels/presence-lobby/users' })).json(), { users: [{ id: 'ann' }] });
    // Another app (tenant) sees none of it.
    assert.deepEqual(await (await serverSdk(herald, OTHER_APP).get({ path: '/channels' })).json(), { channels: {} });
  });

  it('refuses a bad signature, a stale timestamp, a changed body, an unknown app and an oversized event', async () => {
    await using herald = await startPusherHerald();
    await assert.rejects(serverSdk(herald, { ...APP, secret: 'wrong-secret-0123456789' }).trigger('feed', 'x', {}), (err: any) => err.status === 401 && /Invalid signature/.test(err.body));
    await assert.rejects(serverSdk(herald, { ...APP, id: 'nope' }).trigger('feed', 'x', {}), (err: any) => err.status === 404);
    const body = JSON.stringify({ name: 'x', channels: ['feed'], data: '{}' });
    const stale = await fetch(signedUrl(herald.url, 'POST', `/apps/${APP.id}/events`, body, { timestamp: Math.floor(Date.now() / 1000) - 3600 }), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(stale.status, 401);
    assert.match(await stale.text(), /Timestamp expired/);
    const changed = await fetch(signedUrl(herald.url, 'POST', `/apps/${APP.id}/events`, body), { method: 'POST', body: body.replace('feed', 'fees'), headers: { 'content-type': 'application/json' } });
    assert.equal(changed.status, 401);
    const fresh = await fetch(signedUrl(herald.url, 'POST', `/apps/${APP.id}/events`, body), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(fresh.status, 200, 'the same request signed now is taken');
    await assert.rejects(serverSdk(herald).trigger('feed', 'big', 'x'.repeat(10_241)), (err: any) => err.status === 413);
    const notJson = 'not json';
    const bad = await fetch(signedUrl(herald.url, 'POST', `/apps/${APP.id}/events`, notJson), { method: 'POST', body: notJson, headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    await assert.rejects(serverSdk(herald).get({ path: '/channels/news/users' }), (err: any) => err.status === 400);
    const eleven = Array.from({ length: 11 }, (_, i) => ({ channel: 'feed', name: 'x', data: String(i) }));
    await assert.rejects(serverSdk(herald).triggerBatch(eleven), (err: any) => err.status === 400 && /batch/.test(err.body));
    await assert.rejects(serverSdk(herald, { ...APP, key: 'another-key' }).trigger('feed', 'x', {}), (err: any) => err.status === 401 && /auth_key/.test(err.body));
  });

  it('signs channel authorizations that the gateway accepts (authorizeChannel)', async () => {
    await using herald = await startPusherHerald();
    const client = pusherJs(herald);
    using _ = disconnecting(client);
    await connected(client);
    const sdk = serverSdk(herald);
    const auth = sdk.authorizeChannel(client.connection.socket_id, 'private-a');
    const frames: any[] = [];
    client.connection.bind('message', (m: any) => frames.push(m));
    client.send_event('pusher:subscribe', { channel: 'private-a', auth: auth.auth });
    client.send_event('pusher:subscribe', { channel: 'private-b', auth: auth.auth });
    const deadline = Date.now() + 5000;
    while (frames.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(frames.map((f) => [f.event, f.channel]), [
      ['pusher_internal:subscription_succeeded', 'private-a'],
      ['pusher:subscription_error', 'private-b'],
    ]);
  });
});
