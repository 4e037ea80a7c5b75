import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HeraldConfigInput } from '@herald/server';
import { startHerald, waitFor, type HeraldFixture } from '@herald/server/testing';
import Pusher from 'pusher';
import PusherJs from 'pusher-js';
import type * as PusherJsTypes from 'pusher-js/types/src/core/pusher.js';

/** pusher-js's client; under NodeNext its typings give the module, not the class, as the default export. */
type PusherJsClass = typeof PusherJsTypes.default.default;
export type PusherClient = InstanceType<PusherJsClass>;
export const PusherClient = PusherJs as unknown as PusherJsClass;

export const APP = { id: 'app-1', key: 'app-1-key', secret: 'app-1-secret-0123456789' };
export const OTHER_APP = { id: 'app-2', key: 'app-2-key', secret: 'app-2-secret-0123456789' };

/** Two apps (tenants), client events on for the first. */
export const PUSHER_CONFIG: HeraldConfigInput = {
  pusher: {
    apps: [
      { ...APP, clientEvents: true, clientEventRate: 5 },
      { ...OTHER_APP, clientEvents: false },
    ],
  },
};

export function startPusherHerald(config: HeraldConfigInput = {}): Promise<HeraldFixture> {
  return startHerald({ ...PUSHER_CONFIG, ...config, pusher: { ...PUSHER_CONFIG.pusher, ...config.pusher } });
}

/** The `pusher` server SDK pointed at a Herald node, as an app's backend would configure it. */
export function serverSdk(herald: { url: string }, app: { id: string; key: string; secret: string } = APP, encryptionMasterKeyBase64?: string): Pusher {
  const { hostname, port } = new URL(herald.url);
  return new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: hostname, port, useTLS: false, ...(encryptionMasterKeyBase64 ? { encryptionMasterKeyBase64 } : {}) });
}

/** Who the auth endpoint says the caller is on presence channels and at sign-in. */
export interface AuthUser {
  id: string;
  info?: Record<string, unknown>;
}

/**
 * An app's auth endpoint as its docs show it: the `pusher` SDK signs channel authorizations
 * (`POST /pusher/auth`) and user sign-ins (`POST /pusher/user-auth`). `?user=` picks the user,
 * as a session cookie would; `?deny=1` refuses as an app does for a channel the user may not have.
 */
export async function startAuthEndpoint(app: { id: string; key: string; secret: string } = APP, users: Record<string, AuthUser> = {}, encryptionMasterKeyBase64?: string) {
  const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, cluster: 'local', ...(encryptionMasterKeyBase64 ? { encryptionMasterKeyBase64 } : {}) });
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const form = new URLSearchParams(body);
      const socketId = form.get('socket_id') ?? '';
      const user = users[url.searchParams.get('user') ?? ''] ?? { id: 'guest' };
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('content-type', 'application/json');
      if (url.searchParams.get('deny') === '1') return res.writeHead(403).end('{"error":"forbidden"}');
      if (url.pathname === '/pusher/user-auth') return res.end(JSON.stringify(sdk.authenticateUser(socketId, { id: user.id, user_info: user.info ?? {} })));
      const channel = form.get('channel_name') ?? '';
      const presence = channel.startsWith('presence-') ? { user_id: user.id, user_info: user.info ?? {} } : undefined;
      res.end(JSON.stringify(sdk.authorizeChannel(socketId, channel, presence)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The connection options pusher-js (and Laravel Echo, which hands them on) need for a self-hosted server: a Herald node. */
export function selfHosted(herald: { url: string }) {
  const { hostname, port } = new URL(herald.url);
  return { cluster: 'local', wsHost: hostname, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws' as const], disableStats: true };
}

/** pusher-js in Node against a Herald node, with the options a self-hosted Pusher server needs. */
export function pusherJs(herald: { url: string }, options: { key?: string; auth?: string; user?: string } = {}): PusherClient {
  const query = options.user ? `?user=${options.user}` : '';
  return new PusherClient(options.key ?? APP.key, {
    ...selfHosted(herald),
    ...(options.auth
      ? {
          channelAuthorization: { endpoint: `${options.auth}/pusher/auth${query}`, transport: 'ajax' as const },
          userAuthentication: { endpoint: `${options.auth}/pusher/user-auth${query}`, transport: 'ajax' as const },
        }
      : {}),
  });
}

/** Resolves once the client is connected. */
export function connected(client: PusherClient, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.connection.state === 'connected') return resolve();
    const timer = setTimeout(() => reject(new Error(`not connected within ${timeoutMs} ms: ${client.connection.state}`)), timeoutMs);
    client.connection.bind('connected', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resolves with the data of the channel's next `event`. */
export function next<T = any>(channel: { bind(event: string, cb: (data: any, meta?: any) => void): unknown; unbind(event: string, cb?: (...a: any[]) => void): unknown }, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    const cb = (data: T) => {
      clearTimeout(timer);
      channel.unbind(event, cb);
      resolve(data);
    };
    channel.bind(event, cb);
  });
}

/** Disconnects pusher-js clients at the end of a test. */
export function disconnecting(...clients: PusherClient[]) {
  return {
    [Symbol.dispose]() {
      for (const c of clients) c.disconnect();
    },
  };
}

/**
 * Members named `names` subscribe to one presence channel at the same moment, spread over
 * `nodes` in turn; each client must hear of every member exactly once, in the member list it
 * gets on subscribe or as a `member_added`.
 */
export async function presenceRush(nodes: { url: string }[], names: string[]): Promise<void> {
  await using auth = await startAuthEndpoint(APP, Object.fromEntries(names.map((n) => [n, { id: n }])));
  const clients = names.map((user, i) => pusherJs(nodes[i % nodes.length], { auth: auth.url, user }));
  using _ = disconnecting(...clients);
  await Promise.all(clients.map((c) => connected(c)));
  const told = clients.map(() => [] as string[]);
  const rooms = clients.map((c, i) => {
    const room = c.subscribe('presence-rush') as any;
    room.bind('pusher:subscription_succeeded', (members: any) => members.each((m: any) => told[i].push(m.id)));
    room.bind('pusher:member_added', (m: any) => told[i].push(m.id));
    return room;
  });
  await waitFor(() => rooms.every((r) => r.members.count === names.length), 'every client to know every member', 10_000);
  // A late duplicate would arrive after the counts are complete: give it time to show.
  await new Promise((r) => setTimeout(r, 300));
  for (const list of told) assert.deepEqual([...list].sort(), names, 'each member once');
}
