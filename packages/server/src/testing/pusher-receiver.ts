import { createHmac } from 'node:crypto';
import { decodeJwt } from 'jose';
import WebSocket from 'ws';
import type { HeraldFixture } from './herald-fixture.js';
import { Refusal, type Ending, type OpenReceiver, type Received } from './receiver.js';
import { socketReceiver } from './ws-receiver.js';

/** A Pusher app as the receiver's backend knows it: the key clients connect with, the secret it signs with. */
export interface PusherTestApp {
  key: string;
  secret: string;
  /** The Herald tenant of the app's channels. */
  tenant: string;
}

interface Frame {
  event: string;
  channel?: string;
  data?: unknown;
}

interface Connection {
  ws: WebSocket;
  socketId: string;
  ended: Promise<Ending>;
  /** The next frame `test` accepts; a close first rejects with the close code as a Refusal. */
  next(test: (f: Frame) => boolean): Promise<Frame>;
}

/** HMAC-SHA256 of `text` with the app secret, as the `pusher` SDK signs for an auth endpoint. */
const signed = (app: PusherTestApp, text: string) => `${app.key}:${createHmac('sha256', app.secret).update(text).digest('hex')}`;

/** pusher-js hands an event's data on as JSON where it parses, else as the string. */
function parsed(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** Opens `/app/{key}?protocol=7`, resolving at `pusher:connection_established`. */
function connect(herald: HeraldFixture, app: PusherTestApp, onEvent: (f: Frame) => void): Promise<Connection> {
  const ws = new WebSocket(`${herald.wsUrl}/app/${app.key}?protocol=7&client=js&version=8.6.0`);
  ws.on('error', () => {});
  const ended = new Promise<Ending>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const waiting = new Set<(f: Frame) => void>();
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as Frame;
    if (!frame.event.startsWith('pusher')) onEvent(frame);
    for (const w of [...waiting]) w(frame);
  });
  const next = (test: (f: Frame) => boolean) =>
    new Promise<Frame>((resolve, reject) => {
      const w = (f: Frame) => {
        if (!test(f)) return;
        waiting.delete(w);
        resolve(f);
      };
      waiting.add(w);
      void ended.then((e) => {
        waiting.delete(w);
        reject(new Refusal(e.code, e.reason ?? ''));
      });
    });
  return next((f) => f.event === 'pusher:connection_established').then((f) => ({ ws, ended, next, socketId: (parsed(f.data) as { socket_id: string }).socket_id }));
}

/**
 * A Pusher protocol 7 client on a bare `ws` socket, with its app's auth endpoint built in: the
 * token's subject is the user the app vouches for, so the client signs in as it
 * (`pusher:signin`, as pusher-js's `signin()`), and its tenant picks the app. Each channel is
 * subscribed in turn; a `pusher:subscription_error` refuses with its status. Protocol 7 has no
 * resume: `resume()` connects, signs in and subscribes afresh, as pusher-js does after a cut.
 */
export function pusherReceiver(apps: PusherTestApp[]): OpenReceiver {
  return async (herald, token, channels) => {
    const claims = decodeJwt(token);
    const tenant = typeof claims.tenant === 'string' ? claims.tenant : 'default';
    const app = apps.find((a) => a.tenant === tenant);
    if (!app) throw new Error(`no Pusher app for tenant ${tenant}`);
    const received: Received[] = [];
    const onEvent = (f: Frame) => {
      if (f.channel !== undefined && channels.includes(f.channel)) received.push({ id: undefined, channel: f.channel, event: f.event, data: parsed(f.data) });
    };

    const open = async (): Promise<Connection> => {
      const conn = await connect(herald, app, onEvent);
      try {
        const userData = JSON.stringify({ id: claims.sub, user_info: typeof claims.name === 'string' ? { name: claims.name } : {} });
        conn.ws.send(JSON.stringify({ event: 'pusher:signin', data: { user_data: userData, auth: signed(app, `${conn.socketId}::user::${userData}`) } }));
        await conn.next((f) => f.event === 'pusher:signin_success');
        for (const channel of channels) {
          const auth = channel.startsWith('private-') ? { auth: signed(app, `${conn.socketId}:${channel}`) } : {};
          conn.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel, ...auth } }));
          const answer = await conn.next((f) => f.channel === channel && (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error'));
          if (answer.event === 'pusher:subscription_error') {
            const { status, error } = answer.data as { status: number; error: string };
            throw new Refusal(status, error);
          }
        }
        return conn;
      } catch (err) {
        conn.ws.close();
        throw err;
      }
    };

    return socketReceiver('pusher', received, [], open, () => undefined);
  };
}
