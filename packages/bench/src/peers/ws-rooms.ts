// The raw-WebSocket peers' shared server: rooms from the URL (`/?room=NAME`), each publication
// framed once, and the same frame bytes handed to `send` for every socket of the room.
import { createServer } from 'node:http';
import * as wsModule from 'ws';
import WebSocket, { WebSocketServer } from 'ws';
import { exitWithParent, portFromEnv, publishApi } from './publish-api.js';

/** The parts of `ws` that engine.io also uses to send pre-framed data; they have no typings. */
interface Framing {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
}
interface FramedSocket {
  _sender: { sendFrame(list: Buffer[]): void };
}

const { Sender } = wsModule as unknown as Framing;
const FRAME_OPTIONS = { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false };

/** Writes one pre-framed buffer (header and payload together) to a socket: one write call. */
export function sendFrame(ws: WebSocket, frame: Buffer[]): void {
  (ws as unknown as FramedSocket)._sender.sendFrame(frame);
}

/** Starts the server on PORT; `send` writes a publication's frame to one open socket. */
export function serveRooms(name: string, send: (ws: WebSocket, frame: Buffer[]) => void): void {
  const rooms = new Map<string, Set<WebSocket>>();
  const deliver = (channel: string, event: string, data: unknown): void => {
    const members = rooms.get(channel);
    if (!members || members.size === 0) return;
    const payload = Buffer.from(JSON.stringify({ type: 'pub', channel, event, data }));
    const frame = [Buffer.concat(Sender.frame(payload, FRAME_OPTIONS))];
    for (const ws of members) {
      if (ws.readyState === WebSocket.OPEN) send(ws, frame);
    }
  };

  const server = createServer(publishApi(deliver));
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
  wss.on('connection', (ws, req) => {
    const room = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? 'room-0';
    let members = rooms.get(room);
    if (!members) rooms.set(room, (members = new Set()));
    members.add(ws);
    ws.on('close', () => {
      members.delete(ws);
      if (members.size === 0 && rooms.get(room) === members) rooms.delete(room);
    });
    ws.on('error', () => ws.terminate());
  });

  server.listen(portFromEnv(), '127.0.0.1', () => {
    const address = server.address();
    console.log(`${name} listening on ${typeof address === 'object' && address ? address.port : address}`);
  });
  exitWithParent(() => server.close());
}
