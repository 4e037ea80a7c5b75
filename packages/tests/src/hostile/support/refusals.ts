import { io } from 'socket.io-client';
import { TestClient, within, type HeraldFixture } from '@herald/server/testing';

/** How each transport refuses a token: what the client sees, reduced to a code and a reason. */
export interface Refusal {
  code: number | string;
  reason: string;
}

/** The close code and reason of a WebSocket, or the HTTP status if the upgrade was refused. */
function wsRefusal(client: TestClient): Promise<Refusal> {
  const refused = new Promise<Refusal>((resolve) =>
    client.ws.once('unexpected-response', (req, res) => {
      res.resume();
      req.destroy();
      resolve({ code: res.statusCode ?? 0, reason: `HTTP ${res.statusCode}` });
    }),
  );
  return within(Promise.race([refused, client.closed]), 3000, 'the close');
}

/** Every way a client can present a token, each answering with the refusal it gets. */
export const TOKEN_ROUTES: Record<string, (herald: HeraldFixture, token: string) => Promise<Refusal>> = {
  async 'WebSocket ?token='(herald, token) {
    return wsRefusal(new TestClient(`${herald.wsUrl}/ws?token=${encodeURIComponent(token)}`));
  },
  async 'WebSocket Authorization header'(herald, token) {
    return wsRefusal(new TestClient(`${herald.wsUrl}/ws`, { headers: { authorization: `Bearer ${token}` } }));
  },
  async 'WebSocket connect frame'(herald, token) {
    const client = new TestClient(`${herald.wsUrl}/ws`);
    await client.opened();
    client.send({ type: 'connect', id: 1, token });
    const { code, reason } = await within(client.closed, 3000, 'the close');
    return { code, reason };
  },
  async 'Socket.IO handshake auth'(herald, token) {
    const socket = io(herald.url, { auth: { token }, transports: ['websocket'], reconnection: false });
    try {
      const err = await within(new Promise<any>((resolve, reject) => (socket.once('connect_error', resolve), socket.once('connect', () => reject(new Error('connected'))))), 3000, 'connect_error');
      return { code: err.data?.code, reason: `${err.message} | ${err.data?.message}` };
    } finally {
      socket.close();
    }
  },
  async 'Socket.IO authenticate event'(herald, token) {
    const socket = io(herald.url, { transports: ['websocket'], reconnection: false });
    try {
      await within(new Promise((resolve) => socket.once('connect', () => resolve(undefined))), 3000, 'connect');
      const disconnected = new Promise((resolve) => socket.once('disconnect', resolve));
      const answer = await socket.timeout(3000).emitWithAck('authenticate', { token });
      await within(disconnected, 3000, 'the disconnect');
      return { code: answer.error?.code, reason: answer.error?.message ?? JSON.stringify(answer) };
    } finally {
      socket.close();
    }
  },
  async 'SSE ?token='(herald, token) {
    return sseRefusal(await fetch(`${herald.url}/sse?channels=a&token=${encodeURIComponent(token)}`, { headers: { accept: 'text/event-stream' } }));
  },
  async 'SSE Authorization header'(herald, token) {
    return sseRefusal(await fetch(`${herald.url}/sse?channels=a`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } }));
  },
};

async function sseRefusal(response: Response): Promise<Refusal> {
  const text = await response.text();
  const error = (JSON.parse(text) as { error?: { code: string; message: string } }).error;
  return { code: response.status, reason: error ? `${error.code}: ${error.message}` : text };
}

/** Routes that carry the token in the HTTP request head, where Node's 16 KiB header limit comes first. */
export const IN_HTTP_HEAD = new Set(['WebSocket ?token=', 'WebSocket Authorization header', 'SSE ?token=', 'SSE Authorization header']);

/** The refusal each route gives for an unauthorized token, as docs/protocol.md and docs/transports.md describe it. */
export const UNAUTHORIZED: Record<string, number | string> = {
  'WebSocket ?token=': 4001,
  'WebSocket Authorization header': 4001,
  'WebSocket connect frame': 4001,
  'Socket.IO handshake auth': 4001,
  'Socket.IO authenticate event': 4001,
  'SSE ?token=': 401,
  'SSE Authorization header': 401,
};
