import WebSocket from 'ws';
import type { HeraldFixture } from './herald-fixture.js';
import { Refusal, type Ending, type NotRecovered, type OpenReceiver, type Received, type Receiver, type ResumePosition } from './receiver.js';

interface Position {
  epoch: string;
  offset: number;
}

interface Connection {
  ws: WebSocket;
  ended: Promise<Ending>;
  /** Sends a request; `onReply` runs as the reply is read, before any frame after it. */
  request(frame: Record<string, unknown>, onReply: (reply: any) => void): Promise<any>;
}

/** Opens `/ws`, resolving at the `connected` frame; a close first (4001) rejects. */
function connect(herald: HeraldFixture, token: string, onPub: (frame: any) => void): Promise<Connection> {
  const ws = new WebSocket(`${herald.wsUrl}/ws?token=${encodeURIComponent(token)}`);
  const replies = new Map<number, (frame: any) => void>();
  let nextId = 1;
  const ended = new Promise<Ending>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'pub') onPub(frame);
      else if (frame.type === 'reply') replies.get(frame.id)?.(frame);
      else if (frame.type === 'connected') {
        resolve({
          ws,
          ended,
          request: (f, onReply) =>
            new Promise((answer) => {
              const id = nextId++;
              replies.set(id, (reply) => (onReply(reply), answer(reply)));
              ws.send(JSON.stringify({ ...f, id }));
            }),
        });
      }
    });
    void ended.then((e) => reject(new Refusal(e.code, e.reason ?? '')));
  });
}

/**
 * A native WebSocket receiver. It resumes as the client SDK does: a new connection that
 * subscribes each channel with `since: {offset, epoch}` of the last publication it got there.
 */
export const openWebSocketReceiver: OpenReceiver = async (herald, token, channels, resumeFrom) => {
  const received: Received[] = [];
  const notRecovered: NotRecovered[] = [];
  const positions = new Map<string, Position>((resumeFrom?.value as [string, Position][] | undefined) ?? []);
  const onPub = (f: any) => {
    if (!channels.includes(f.channel)) return;
    received.push({ id: f.id, channel: f.channel, event: f.event, data: f.data, ...(f.publisher ? { publisher: f.publisher } : {}) });
    positions.set(f.channel, { epoch: f.epoch, offset: f.offset });
  };

  const open = async (): Promise<Connection> => {
    const conn = await connect(herald, token, onPub);
    for (const channel of channels) {
      const since = positions.get(channel);
      const reply = await conn.request({ type: 'subscribe', channel, ...(since ? { since } : {}) }, (r) => {
        if (r.error) return;
        const { epoch, offset, recovery } = r.result;
        if (recovery && !recovery.recovered) notRecovered.push({ channel, ...recovery });
        // While a replay is due, the position stays where the client stopped; the replay moves it.
        const replaying = since && (recovery?.recovered || recovery?.reason === 'history_trimmed');
        if (!replaying) positions.set(channel, { epoch, offset });
      });
      if (reply.error) {
        conn.ws.close();
        throw new Refusal(reply.error.code, reply.error.message);
      }
    }
    return conn;
  };

  return socketReceiver('websocket', received, notRecovered, open, () => [...positions]);
};

/**
 * A receiver whose connections are `ws` sockets that `open()` makes connected and subscribed:
 * `cut()` drops the socket without a close frame, `resume()` opens another, `close()` says goodbye.
 */
export async function socketReceiver(
  transport: string,
  received: Received[],
  notRecovered: NotRecovered[],
  open: () => Promise<{ ws: WebSocket; ended: Promise<Ending> }>,
  position: () => unknown,
): Promise<Receiver> {
  let conn = await open();
  return {
    transport,
    received,
    notRecovered,
    ended: () => conn.ended,
    position: (): ResumePosition => ({ transport, value: position() }),
    async cut() {
      conn.ws.terminate();
      await conn.ended;
    },
    async resume() {
      conn = await open();
    },
    async close() {
      conn.ws.close();
      await conn.ended;
    },
  };
}
