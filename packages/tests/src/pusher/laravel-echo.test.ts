import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import EchoModule from 'laravel-echo';
import { waitFor } from '../support/wait.js';
import { APP, PusherClient, selfHosted, serverSdk, startAuthEndpoint, startPusherHerald } from './support.js';

/** laravel-echo 1's CommonJS build as Node's ESM loader gives it: the class is under `default`. */
const Echo: new (options: object) => any = (EchoModule as any).default ?? EchoModule;

/** Echo as a Laravel app's resources/js/echo.js sets it up for a self-hosted Pusher server. */
function echoFor(herald: { url: string }, authUrl: string, user: string) {
  return new Echo({
    broadcaster: 'pusher',
    key: APP.key,
    ...selfHosted(herald),
    authEndpoint: `${authUrl}/broadcasting/auth?user=${user}`,
    Pusher: PusherClient,
  });
}

describe('Laravel Echo with its Pusher connector against Herald', () => {
  it('listens on public and private channels to events broadcast under Laravel class names', async () => {
    await using herald = await startPusherHerald();
    await using auth = await startAuthEndpoint(APP, { ann: { id: '1', info: { name: 'Ann' } } });
    const echo = echoFor(herald, auth.url, 'ann');
    try {
      const got: [string, unknown][] = [];
      echo.channel('orders').listen('OrderShipped', (e: unknown) => got.push(['public', e]));
      echo.private('orders.1').listen('.status.changed', (e: unknown) => got.push(['private', e]));
      const sdk = serverSdk(herald);
      // Echo's subscriptions are made once connected: wait until the gateway has both.
      await waitFor(async () => Object.keys(((await (await sdk.get({ path: '/channels' })).json()) as any).channels).length === 2, 'both subscriptions');
      await sdk.trigger('orders', 'App\\Events\\OrderShipped', { order: { id: 1 } });
      await sdk.trigger('private-orders.1', 'status.changed', { status: 'paid' });
      await waitFor(() => got.length === 2, 'both events');
      assert.deepEqual(got, [
        ['public', { order: { id: 1 } }],
        ['private', { status: 'paid' }],
      ]);
    } finally {
      echo.disconnect();
    }
  });

  it('joins presence channels (here, joining, leaving) and whispers between members', async () => {
    await using herald = await startPusherHerald();
    await using auth = await startAuthEndpoint(APP, { ann: { id: '1', info: { name: 'Ann' } }, bob: { id: '2', info: { name: 'Bob' } } });
    const ann = echoFor(herald, auth.url, 'ann');
    const bob = echoFor(herald, auth.url, 'bob');
    try {
      const seen: { here?: unknown[]; joining: unknown[]; leaving: unknown[]; whispers: unknown[] } = { joining: [], leaving: [], whispers: [] };
      ann
        .join('chat.1')
        .here((users: unknown[]) => (seen.here = users))
        .joining((u: unknown) => seen.joining.push(u))
        .leaving((u: unknown) => seen.leaving.push(u))
        .listenForWhisper('typing', (e: unknown) => seen.whispers.push(e));
      await waitFor(() => seen.here !== undefined, 'the member list');
      assert.deepEqual(seen.here, [{ name: 'Ann' }]);
      let bobHere: unknown[] | undefined;
      const bobRoom = bob.join('chat.1').here((users: unknown[]) => (bobHere = users));
      await waitFor(() => bobHere !== undefined && seen.joining.length === 1, 'Bob in the room');
      assert.deepEqual(bobHere, [{ name: 'Ann' }, { name: 'Bob' }]);
      assert.deepEqual(seen.joining, [{ name: 'Bob' }]);
      bobRoom.whisper('typing', { name: 'Bob' });
      await waitFor(() => seen.whispers.length === 1, 'the whisper');
      assert.deepEqual(seen.whispers, [{ name: 'Bob' }]);
      bob.leave('chat.1');
      await waitFor(() => seen.leaving.length === 1, 'Bob leaving');
      assert.deepEqual(seen.leaving, [{ name: 'Bob' }]);
    } finally {
      ann.disconnect();
      bob.disconnect();
    }
  });
});
